"""Writes the small checkpoints the hardening tests load (tests/fixtures/hostile/).

- `huge_shape*.pth`, `moderate_shape.pth`: valid `torch.save` files whose tensor declares far
  more elements than its storage holds (a stride-0 view: 10^11 or 2*10^8 elements over 7 stored
  floats) — what made the loader allocate 400 GB and abort;
- `small_state*.pth`: small valid state dicts (float32, float16, int64; zip and legacy
  formats), the seeds the parser fuzz tests mutate.

Run: /work/venv/bin/python scripts/make_hostile_fixtures.py
"""

import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hostile"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    storage = torch.arange(7, dtype=torch.float32)
    huge = storage.as_strided((100_000, 1_000_000), (0, 0))
    moderate = storage.as_strided((20_000, 10_000), (0, 0))
    torch.save({"weight": huge}, OUT / "huge_shape.pth")
    torch.save({"weight": huge}, OUT / "huge_shape_legacy.pth", _use_new_zipfile_serialization=False)
    torch.save({"weight": moderate}, OUT / "moderate_shape.pth")
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
