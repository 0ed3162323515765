#!/usr/bin/env python3
"""Python's side of the way back: folders written by `vit convert --format timm` loaded by timm
itself (`timm.create_model("local-dir:FOLDER", pretrained=True)`), their logits compared with
ours on the same input.

    check_timm_export.py input FOLDER INPUT.npy       # a random input of the model's size
    vit forward -m FOLDER -i INPUT.npy -o OURS.npy    # our logits
    check_timm_export.py compare FOLDER INPUT.npy OURS.npy [--tolerance 1e-4]

Run in a venv with torch and timm (never in CI); exit status 1 when a folder fails to load or
differs by more than the tolerance.
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import timm
import torch


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    make = sub.add_parser("input")
    make.add_argument("folder")
    make.add_argument("out")
    make.add_argument("--batch", type=int, default=2)
    cmp = sub.add_parser("compare")
    cmp.add_argument("folder")
    cmp.add_argument("input")
    cmp.add_argument("ours")
    cmp.add_argument("--tolerance", type=float, default=1e-4)
    a = p.parse_args()
    folder = pathlib.Path(a.folder).resolve()
    if a.command == "input":
        config = json.loads((folder / "config.json").read_text())
        c, h, w = config["pretrained_cfg"]["input_size"]
        x = np.random.default_rng(0).standard_normal((a.batch, c, h, w)).astype(np.float32)
        np.save(a.out, x)
        return
    model = timm.create_model(f"local-dir:{folder}", pretrained=True).eval()
    x = torch.from_numpy(np.load(a.input))
    with torch.no_grad():
        theirs = model(x).numpy()
    ours = np.load(a.ours)
    diff = float(np.abs(theirs - ours).max())
    print(f"{folder.name}: {type(model).__name__}, logits {theirs.shape}, max |timm - ours| = {diff:.2e}")
    sys.exit(0 if diff <= a.tolerance else 1)


if __name__ == "__main__":
    main()
