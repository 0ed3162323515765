#!/usr/bin/env python3
"""The embedded default data set of vit-train: the UCI optical handwritten digits as shipped inside
scikit-learn (1,797 greyscale 8x8 images, pixel values 0..16, classes 0..9; Alpaydin & Kaynak,
UCI Machine Learning Repository, CC BY 4.0).

Writes crates/vit-train/data/digits.bin: a 16-byte header (b"DIGITS8x8", 0, u16 LE train count,
u16 LE test count, 2 reserved bytes), then one 65-byte record per image (label byte, 64 pixel bytes,
row-major), the fixed train split first and the test split after it (a seeded shuffle, stratified
by nothing: 1,500 train / 297 test).

    python3 -m venv ~/venv && ~/venv/bin/pip install scikit-learn numpy
    ~/venv/bin/python scripts/make_digits.py
"""
import pathlib
import struct

import numpy as np
from sklearn.datasets import load_digits

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates" / "vit-train" / "data" / "digits.bin"
TRAIN = 1500


def main() -> None:
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # values 0..16
    labels = digits.target.astype(np.uint8)
    order = np.random.default_rng(2026).permutation(len(labels))
    test = len(labels) - TRAIN
    out = bytearray(b"DIGITS8x8\x00" + struct.pack("<HH", TRAIN, test) + b"\x00\x00")
    for i in order:
        out.append(int(labels[i]))
        out.extend(images[i].reshape(-1).tobytes())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(bytes(out))
    print(f"{OUT}: {TRAIN} train + {test} test images, {len(out)} bytes")


if __name__ == "__main__":
    main()
