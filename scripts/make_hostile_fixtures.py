"""Writes the small checkpoints the hardening tests load (tests/fixtures/hostile/).

- `huge_shape*.pth`, `moderate_shape.pth`: `torch.save` files whose tensor declares far more
  elements than its storage holds (10^11 or 2*10^8 elements over 7 stored floats: a stride-0
  view whose stride is rewritten in the pickle to the contiguous one) — what made the loader
  allocate 400 GB and abort;
- `short_storage.pth`: a 3x4 tensor claimed over a storage of 7 floats;
- `expanded_view.pth`: an honest stride-0 view (3x4 over 4 floats), which the reader cannot
  represent;
- `small_state*.pth`: small valid state dicts (float32, float16, int64; zip and legacy
  formats), the seeds the parser fuzz tests mutate.

Run: /work/venv/bin/python scripts/make_hostile_fixtures.py
"""

import io
import pathlib
import zipfile

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hostile"


# In the pickle, the view's stride (0, 0) as two BININT1 and TUPLE2 — rewritten to the
# contiguous stride of its shape, so the file claims a plain tensor its storage cannot hold.
ZERO_STRIDE = b"K\x00K\x00\x86"


def contiguous_stride(cols: int) -> bytes:
    """(cols, 1) as BININT + BININT1 + TUPLE2."""
    return b"J" + cols.to_bytes(4, "little") + b"K\x01\x86"


def lie_about_stride(raw: bytes, cols: int) -> bytes:
    assert raw.count(ZERO_STRIDE) == 1, "one zero stride in the pickle"
    return raw.replace(ZERO_STRIDE, contiguous_stride(cols))


def save_lying(tensor: torch.Tensor, cols: int, path: pathlib.Path, legacy: bool) -> None:
    """torch.save({"weight": tensor}) with the stride rewritten (zip entries re-stored)."""
    buffer = io.BytesIO()
    torch.save({"weight": tensor}, buffer, _use_new_zipfile_serialization=not legacy)
    raw = buffer.getvalue()
    if legacy:
        path.write_bytes(lie_about_stride(raw, cols))
        return
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                data = lie_about_stride(data, cols)
            dst.writestr(info.filename, data)
    path.write_bytes(out.getvalue())


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    storage = torch.arange(7, dtype=torch.float32)
    huge = storage.as_strided((100_000, 1_000_000), (0, 0))
    moderate = storage.as_strided((20_000, 10_000), (0, 0))
    save_lying(huge, 1_000_000, OUT / "huge_shape.pth", legacy=False)
    save_lying(huge, 1_000_000, OUT / "huge_shape_legacy.pth", legacy=True)
    save_lying(moderate, 10_000, OUT / "moderate_shape.pth", legacy=False)
    # 12 elements claimed over a storage of 7: small enough for the file, not for the storage
    # (the reader zero-padded the missing 5).
    save_lying(storage.as_strided((3, 4), (0, 0)), 4, OUT / "short_storage.pth", legacy=False)
    # The honest stride-0 view: refused as non-contiguous (the reader reads storages
    # contiguously; it used to zero-pad the rest).
    torch.save({"weight": storage.as_strided((3, 4), (0, 1))}, OUT / "expanded_view.pth")
    torch.manual_seed(0)
    state = {
        "blocks.0.attn.qkv.weight": torch.randn(6, 4),
        "blocks.0.attn.qkv.bias": torch.randn(6).half(),
        "relative_position_index": torch.arange(9, dtype=torch.int64).reshape(3, 3),
    }
    torch.save(state, OUT / "small_state.pth")
    torch.save(state, OUT / "small_state_legacy.pth", _use_new_zipfile_serialization=False)
    for path in sorted(OUT.glob("*.pth")):
        print(path.name, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
