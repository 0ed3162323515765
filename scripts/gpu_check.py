#!/usr/bin/env python3
"""The GPU check (issue 19) as one bounded command on a lent GPU machine.

Runs, in order of importance, each step under its own timeout and the whole under a deadline:
machine facts; the `gpu` test executable on CUDA (every timm fixture within 1e-4, fused vs
materialised attention, a short training run with checkpoints and resume); speed beside
PyTorch on the same GPU (`vit bench` and `xtask/bench_torch.py --device cuda`, one process per
row, peak GPU memory sampled with nvidia-smi for both); the default digits run and a 224² ViT-S
run with resume on CUDA; the same tests on WGPU (Vulkan). Results go to OUT/results.json after
every step, logs to OUT/log.txt, a markdown table to OUT/summary.md and stdout.

Usage (see scripts/gpu-check.sh): gpu_check.py --bundle .gpu --out "$OUT" --deadline 540
"""
import argparse
import json
import lzma
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = time.monotonic()
RESULTS = []


def elapsed():
    return time.monotonic() - START


class GpuMemory(threading.Thread):
    """Samples the GPU's used memory (MiB) every 0.2 s; `peak` above the baseline."""

    def __init__(self, baseline):
        super().__init__(daemon=True)
        self.baseline, self.peak, self.stop = baseline, 0.0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            used = gpu_used_mib()
            if used is not None:
                self.peak = max(self.peak, used - self.baseline)
            self.stop.wait(0.2)


def gpu_used_mib():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5).stdout
        return float(out.split()[0])
    except Exception:
        return None


class Runner:
    def __init__(self, out, deadline):
        self.out, self.deadline = out, deadline
        self.log = open(os.path.join(out, "log.txt"), "a", buffering=1)
        self.baseline = gpu_used_mib() or 0.0

    def run(self, name, cmd, timeout, env=None, cwd=None):
        """Runs `cmd` (a list) bounded by `timeout` and the deadline: (rc, seconds, output, peak MiB)."""
        left = self.deadline - elapsed()
        if left < 15:
            self.log.write(f"\n=== {name}: skipped, {left:.0f} s left\n")
            return None, 0.0, "skipped: deadline", 0.0
        timeout = min(timeout, left - 5)
        self.log.write(f"\n=== {name} (t={elapsed():.0f} s, timeout {timeout:.0f} s)\n$ {' '.join(cmd)}\n")
        mem = GpuMemory(self.baseline)
        mem.start()
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
        except OSError as e:
            mem.stop.set()
            self.log.write(f"--- {name}: cannot start: {e}\n")
            return f"cannot start: {e}", 0.0, "", 0.0
        try:
            output, _ = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            rc = "timeout"
        seconds = time.monotonic() - t0
        mem.stop.set()
        mem.join()
        self.log.write(output[-20000:])
        self.log.write(f"\n--- {name}: rc {rc}, {seconds:.1f} s, peak GPU {mem.peak:.0f} MiB\n")
        return rc, seconds, output, mem.peak


def record(out, **entry):
    RESULTS.append(entry)
    with open(os.path.join(out, "results.json.tmp"), "w") as f:
        json.dump(RESULTS, f, indent=1)
    os.replace(os.path.join(out, "results.json.tmp"), os.path.join(out, "results.json"))
    print(json.dumps(entry)[:600], flush=True)


def unpack(bundle, dest):
    os.makedirs(dest, exist_ok=True)
    paths = {}
    for name in ["vit", "gpu-tests"]:
        path = os.path.join(dest, name)
        with lzma.open(os.path.join(bundle, name + ".xz")) as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(path, 0o755)
        paths[name] = path
    return paths


def last_json(output):
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def machine(r, bins):
    facts = {}
    for key, cmd in {
        "gpu": ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm", "--format=csv,noheader"],
        "cuda_driver": ["sh", "-c", "nvidia-smi | grep -o 'CUDA Version: [0-9.]*'"],
        "nvcc": ["sh", "-c", "nvcc --version | tail -2 | head -1"],
        "python": ["python3", "-c", "import torch, timm, platform; print(platform.python_version(), torch.__version__, timm.__version__, torch.version.cuda)"],
        "libs": ["sh", "-c", "ldconfig -p | grep -E 'libcuda.so|libnvrtc|libvulkan' | head -8"],
        "ldd_missing": ["sh", "-c", f"ldd {bins['vit']} {bins['gpu-tests']} | grep 'not found' || echo none"],
        "glibc": ["sh", "-c", "ldd --version | head -1"],
        "cpu": ["sh", "-c", "nproc; grep -m1 'model name' /proc/cpuinfo"],
    }.items():
        rc, _, output, _ = r.run(f"machine {key}", cmd, 30)
        facts[key] = output.strip()
    record(r.out, step="machine", **facts)


def tests(r, bins, backend, env):
    rc, seconds, output, peak = r.run(f"tests {backend}", [bins["gpu-tests"], backend, "--nocapture", "--test-threads", "1"],
                                      150, env=env)
    parity = re.findall(r"parity (\S+): features (\S+), logits (\S+)", output)
    fused = re.findall(r"fused vs materialised logits: (\S+)", output)
    results = re.findall(r"test (\S+) \.\.\. (ok|FAILED)", output)
    record(r.out, step=f"tests-{backend}", rc=rc, seconds=round(seconds, 1), peak_gpu_mib=round(peak),
           parity={c: [float(f), float(l)] for c, f, l in parity}, fused_vs_materialised=fused,
           tests=dict(results))


def bench(r, bins, rows, env):
    """Each row: ours (fused attention, and materialised where asked), then PyTorch in f32 and
    with TF32 matrix products (CubeCL's CUDA matmul takes TF32 tensor cores for f32)."""
    torch_script = os.path.join(ROOT, "xtask", "bench_torch.py")
    for row, timing, attention in rows:
        ours = [bins["vit"], "--backend", "cuda", "bench", *row, *timing]
        if attention:
            ours += ["--attention", attention]
        rc, seconds, output, peak = r.run("bench ours " + " ".join(row), ours, 150, env=env)
        record(r.out, step="bench", side="ours", row=row, attention=attention or "fused", rc=rc,
               seconds=round(seconds, 1), peak_gpu_mib=round(peak), result=last_json(output))
        if attention:
            continue
        # A `--precision P` row of ours is PyTorch's `--amp P` (torch.autocast) row.
        torch_row, sides = list(row), [("pytorch", []), ("pytorch-tf32", ["--tf32"])]
        if "--precision" in row:
            i = row.index("--precision")
            precision = row[i + 1]
            del torch_row[i:i + 2]
            sides = [(f"pytorch-autocast-{precision}", ["--amp", precision])]
        for side, extra in sides:
            rc, seconds, output, peak = r.run(f"bench {side} " + " ".join(torch_row),
                                              ["python3", torch_script, *torch_row, *timing, "--device", "cuda", *extra],
                                              90, env={"PYTHONUNBUFFERED": "1"})
            record(r.out, step="bench", side=side, row=row, rc=rc, seconds=round(seconds, 1),
                   peak_gpu_mib=round(peak), result=last_json(output))


def train(r, bins, name, args, env, timeout):
    # CubeCL's compilation and autotune log: tells a slow start (kernels still compiling) from a
    # hang (2026-11-27: a tiny model's first epoch had not ended after 90 s, GPU 2 % busy).
    cubecl_log = f"/tmp/cubecl-{name}.log"
    rc, seconds, output, peak = r.run(f"train {name}", [bins["vit"], "--backend", "cuda", "train", *args], timeout,
                                      env={**env, "CUBECL_DEBUG_LOG": cubecl_log})
    if os.path.exists(cubecl_log):
        with open(cubecl_log, "rb") as f:
            f.seek(max(0, os.path.getsize(cubecl_log) - 4_000_000))
            tail = f.read()
        with open(os.path.join(r.out, "cubecl-train.log"), "ab") as f:
            f.write(f"\n==== {name} ({os.path.getsize(cubecl_log)} bytes, last 4 MB)\n".encode() + tail)
    acc = re.findall(r"test accuracy (\S+) % \((\d+) images\) after (\d+) epochs in (\d+) s", output)
    record(r.out, step=f"train-{name}", rc=rc, seconds=round(seconds, 1), peak_gpu_mib=round(peak),
           accuracy=acc[-1] if acc else None, panicked="panicked" in output,
           handle_error="Should have handle" in output)
    return rc


def vit_s_224(bins):
    """The 224² ViT-S/16 config on the digits (1 channel, 10 classes, resized to 224)."""
    cfg = json.loads(subprocess.run([bins["vit"], "config", "vit_small_patch16_224"], capture_output=True,
                                    text=True, check=True).stdout)
    cfg.update(in_chans=1, num_classes=10)
    return json.dumps({"family": "vit", "config": cfg})


def summary(out):
    lines = ["| step | result |", "|---|---|"]
    pairs = {}
    for e in RESULTS:
        if e["step"] == "bench" and "row" in e:
            key = " ".join(e["row"])
            res = e.get("result") or {}
            pairs.setdefault(key, {})[e["side"] + ("" if e.get("attention") in (None, "fused") else "-mat")] = (
                res, e["peak_gpu_mib"], e["rc"])
        elif e["step"] == "machine" and "gpu" in e:
            lines.append(f"| machine | {e['gpu']}; {e['cuda_driver']}; torch/timm {e['python']} |")
        else:
            body = {k: v for k, v in e.items() if k != "step"}
            lines.append(f"| {e['step']} | {json.dumps(body)[:400]} |")
    lines += ["", "| row | ours ms (img/s) | PyTorch ms (img/s; f32, autocast on --precision rows) | ratio | PyTorch TF32 ms | ratio | GPU MiB ours / PyTorch | ours materialised ms |",
              "|---|---|---|---|---|---|---|---|"]
    for key, sides in pairs.items():
        o, p, m, t = sides.get("ours"), sides.get("pytorch"), sides.get("ours-mat"), sides.get("pytorch-tf32")
        if p is None:  # a --precision row: PyTorch under torch.autocast
            p = next((v for k, v in sides.items() if k.startswith("pytorch-autocast")), None)

        def ms(s):
            if not s or not s[0]:
                return f"failed ({s[2] if s else '-'})"
            res = s[0]
            ips = res.get("images_per_s")
            return f"{res['median_ms']:.2f}" + (f" ({ips:.0f})" if ips else "")
        def ratio(ref):
            if o and ref and o[0] and ref[0]:
                return f"{ref[0]['median_ms'] / o[0]['median_ms']:.2f}"
            return ""
        mem = f"{o[1] if o else '-'} / {p[1] if p else '-'}"
        lines.append(f"| {key} | {ms(o)} | {ms(p)} | {ratio(p)} | {ms(t) if t else ''} | {ratio(t)} | {mem} "
                     f"| {ms(m) if m else ''} |")
    text = "\n".join(lines)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bundle", default=os.path.join(ROOT, ".gpu"))
    p.add_argument("--out", default=os.environ.get("OUT", "/tmp/gpu-out"))
    p.add_argument("--deadline", type=float, default=480)
    p.add_argument("--quick", action="store_true", help="machine facts and the CUDA tests only")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    r = Runner(a.out, a.deadline)
    bins = unpack(a.bundle, "/tmp/vit-gpu-bin")
    fixtures = os.path.join(ROOT, "tests", "fixtures")
    env = {"VIT_FIXTURES": fixtures, "VIT_BIN": bins["vit"], "RUST_BACKTRACE": "1"}
    def guarded(step, *args):
        try:
            return step(*args)
        except Exception as e:  # one broken step must not cost the others
            record(a.out, step=getattr(step, "__name__", "step"), error=repr(e))

    guarded(machine, r, bins)
    guarded(tests, r, bins, "parity::cuda", env)
    if a.quick:
        return summary(a.out)
    # Order: what the last check (2026-11-27, H200) left unmeasured first. A `vit` process spends
    # 30-130 s compiling and autotuning its kernels before the first timed run.
    inference = ["--warmup", "3", "--runs", "10"]
    guarded(train, r, bins, "digits", ["-o", "/tmp/vit-gpu-digits"], env, 120)
    rows = [
        (["--model", "vit_small_patch16_224", "--batch", "128", "--train"], inference, None),
        (["--model", "swin_tiny_patch4_window7_224", "--batch", "64"], inference, None),
        (["--model", "vit_base_patch16_224", "--batch", "256"], ["--warmup", "2", "--runs", "5"], None),
        (["--model", "vit_base_patch16_224", "--batch", "64"], inference, "materialized"),
        (["--model", "vit_base_patch16_224", "--batch", "64"], inference, None),
        # Mixed precision: bf16 autocast beside torch.autocast (and the f32 row above).
        (["--model", "vit_base_patch16_224", "--batch", "64", "--precision", "bf16"], inference, None),
        (["--model", "vit_base_patch16_224", "--batch", "1"], ["--warmup", "5", "--runs", "20"], None),
        (["--matmul", "4096"], ["--warmup", "3", "--runs", "10"], None),
    ]
    guarded(bench, r, bins, rows, env)
    guarded(tests, r, bins, "training::a_short_training_run_on_cuda", env)
    guarded(tests, r, bins, "wgpu", env)
    model = vit_s_224(bins)
    run = ["-o", "/tmp/vit-gpu-vits", "--set", f"model={model}", "--batch-size", "128", "--set", "warmup_epochs=0"]
    if guarded(train, r, bins, "vit-s-224", [*run, "--epochs", "2"], env, 120) == 0:
        guarded(train, r, bins, "vit-s-224-resume", ["--resume", "--epochs", "3", "-o", "/tmp/vit-gpu-vits"], env, 90)
    summary(a.out)


if __name__ == "__main__":
    main()
