#!/usr/bin/env bash
# Builds, on a machine without a GPU, what `scripts/gpu-check.sh` runs on one: the release `vit`
# binary and the `gpu` test executable of vit-cli, both with `--features cuda,wgpu`, stripped and
# xz-compressed into .gpu/ (git-ignored; carried to the GPU machine, 64 MiB at most).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vit-burn-target}"
features=cuda,wgpu
cargo build --release -p vit-cli --features "$features"
tests=$(cargo test --release -p vit-cli --features "$features" --test gpu --no-run \
    --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "gpu" and m.get("executable"):
        print(m["executable"])')
mkdir -p .gpu
rm -f .gpu/*
strip -o .gpu/vit "$CARGO_TARGET_DIR/release/vit"
strip -o .gpu/gpu-tests "$tests"
xz -T0 -6 -f .gpu/vit .gpu/gpu-tests
git rev-parse HEAD >.gpu/commit
ls -la .gpu
du -sh .gpu
