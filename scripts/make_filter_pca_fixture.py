"""Writes tests/fixtures/views/filters_pca/: numpy's principal components of the patch-embedding
filters of two committed timm fixtures (`vit_cls`, a ViT with 8x8 patches and 48 filters:
fewer filters than inputs; `swin_2stage`, 4x4 patches), what `vit_viz::filters::filter_pca`
must reproduce up to sign.

For each: `<case>_components.npy` (float64, [k, C*p*p], the first k right singular vectors of
the centred filter matrix) and `<case>_variance.npy` (float64, S^2 / (filters - 1)).

Run: /work/venv/bin/python scripts/make_filter_pca_fixture.py
"""

import pathlib

import numpy as np
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "views" / "filters_pca"
K = 28


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for case in ["vit_cls", "swin_2stage"]:
        weights = load_file(FIXTURES / "timm" / case / "model.safetensors")
        w = weights["patch_embed.proj.weight"].astype(np.float64)
        x = w.reshape(w.shape[0], -1)
        x = x - x.mean(axis=0, keepdims=True)
        _, s, vt = np.linalg.svd(x, full_matrices=False)
        rank = min(x.shape[0] - 1, x.shape[1])
        np.save(OUT / f"{case}_components.npy", vt[:K])
        np.save(OUT / f"{case}_variance.npy", (s**2 / (x.shape[0] - 1))[:rank])
        print(case, w.shape, "->", vt[:K].shape)


if __name__ == "__main__":
    main()
