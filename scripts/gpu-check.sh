#!/usr/bin/env bash
# The GPU check (issue 19) as ONE command on a GPU machine with no cargo: run
# `scripts/gpu-bundle.sh` here first (builds .gpu/), fetch the Vulkan loaders into .gl/ once
# (see README "GPU check"), carry both, then: `bash scripts/gpu-check.sh [--quick]`.
# Results: $OUT/{results.json,summary.md,log.txt} (default OUT=/tmp/gpu-out).
set -u
cd "$(dirname "$0")/.."
export OUT="${OUT:-/tmp/gpu-out}"
mkdir -p "$OUT"
# Vulkan/EGL loaders for WGPU (the image has the NVIDIA driver's ICD but no loader).
if [ -d .gl ]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
# CubeCL's CUDA runtime loads NVRTC at run time: put the toolkit's (or PyTorch's) on the path.
if ! ldconfig -p | grep -q 'libnvrtc\.so'; then
    for d in $(find /usr/local /opt /usr/lib -name 'libnvrtc.so*' -printf '%h\n' 2>/dev/null | sort -u); do
        export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    done
fi
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >"$OUT/log.txt"
exec python3 scripts/gpu_check.py --out "$OUT" "$@"
