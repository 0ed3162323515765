"""Writes examples/images/digits/: the first test image of each class of the embedded digits
(crates/vit-train/data/digits.bin, the UCI digits, CC BY 4.0) as the 8x8 greyscale PNG the
default model expects (pixel values 0-16 scaled to 0-255, white on black), named
`<label>-<index>.png` (the index in the test split).

Run: python3 scripts/make_sample_digits.py (needs Pillow).
"""

import pathlib

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "crates" / "vit-train" / "data" / "digits.bin"
OUT = ROOT / "examples" / "images" / "digits"
HEADER, SIDE = 16, 8
RECORD = 1 + SIDE * SIDE


def main() -> None:
    raw = DATA.read_bytes()
    assert raw[:9] == b"DIGITS8x8"
    train = int.from_bytes(raw[10:12], "little")
    test = int.from_bytes(raw[12:14], "little")
    OUT.mkdir(parents=True, exist_ok=True)
    seen = set()
    for i in range(test):
        at = HEADER + (train + i) * RECORD
        label, pixels = raw[at], raw[at + 1 : at + RECORD]
        if label in seen:
            continue
        seen.add(label)
        image = Image.frombytes("L", (SIDE, SIDE), bytes(round(v * 255 / 16) for v in pixels))
        image.save(OUT / f"{label}-{i}.png")
    print(sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
