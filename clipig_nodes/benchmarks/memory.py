"""Measures the constants of engine/memory.py: `python -m clipig_nodes.benchmarks.memory`.

For each CLIP architecture (random weights: memory does not depend on their values):
- weights: bytes of all parameters in fp32 (the whole model is loaded, text encoder too);
- saved: bytes the image encoder keeps for backward per view, counted exactly by running
  the forward pass on torch's meta device (no memory, no compute) with saved-tensor hooks;
- with --measure: the real peak of a forward + backward pass on this machine's CPU per view
  (a fresh process per batch size; peak RSS growth from ru_maxrss), for the models small
  enough to run here, which gives the factor between real peak and saved bytes;
- with --runs --model CHECKPOINT: whole 2-epoch CPU runs of the strawberries template at
  several sizes, their peak memory growth over a 32 x 32 run against the estimate's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import warnings

# OpenAI's published configs: embed_dim, image_resolution, vision_layers, vision_width,
# vision_patch_size, context_length, vocab_size, transformer_width, heads, layers
CONFIGS = {
    "tiny": (32, 32, 1, 64, 16, 77, 49408, 64, 1, 1),         # tests/tiny_clip.py
    "RN50": (1024, 224, (3, 4, 6, 3), 64, None, 77, 49408, 512, 8, 12),
    "RN101": (512, 224, (3, 4, 23, 3), 64, None, 77, 49408, 512, 8, 12),
    "RN50x4": (640, 288, (4, 6, 10, 6), 80, None, 77, 49408, 640, 10, 12),
    "RN50x16": (768, 384, (6, 8, 18, 8), 96, None, 77, 49408, 768, 12, 12),
    "RN50x64": (1024, 448, (3, 15, 36, 10), 128, None, 77, 49408, 1024, 16, 12),
    "ViT-B/32": (512, 224, 12, 768, 32, 77, 49408, 512, 8, 12),
    "ViT-B/16": (512, 224, 12, 768, 16, 77, 49408, 512, 8, 12),
    "ViT-L/14": (768, 224, 24, 1024, 14, 77, 49408, 768, 12, 12),
    "ViT-L/14@336px": (768, 336, 24, 1024, 14, 77, 49408, 768, 12, 12),
}


def build(name: str, device: str):
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from clip.model import CLIP
    with torch.device(device):
        return CLIP(*CONFIGS[name]).float().eval().requires_grad_(False)


def weights_bytes(name: str) -> int:
    model = build(name, "meta")
    return sum(p.numel() * p.element_size() for p in model.parameters())


def saved_bytes(name: str, batch: int) -> int:
    """Bytes of the tensors autograd saves for backward in the image encoder (meta device)."""
    import torch
    model = build(name, "meta")
    size = CONFIGS[name][1]
    seen: dict[int, int] = {}

    def pack(t):
        # a tensor saved twice (or a view of a saved one) is stored once
        key = id(t.untyped_storage()) if t.device.type != "meta" else id(t)
        seen[key] = max(seen.get(key, 0), t.numel() * t.element_size())
        return t

    x = torch.empty(batch, 3, size, size, device="meta", requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model.visual(x)
    return sum(seen.values())


def _peak_child(name: str, batch: int) -> None:
    """In a fresh process: peak RSS growth of one forward + backward of `batch` views."""
    import torch
    torch.set_num_threads(1)
    model = build(name, "cpu")
    size = CONFIGS[name][1]
    warm = torch.rand(1, 3, 32, 32)
    del warm
    before = _rss()
    x = torch.rand(batch, 3, size, size, requires_grad=True)
    z = model.visual(x)
    (z / z.norm(dim=-1, keepdim=True)).sum().backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"growth": peak - before}))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os
    return pages * os.sysconf("SC_PAGE_SIZE")


def measure_peak(name: str, batch: int) -> int:
    out = subprocess.run([sys.executable, "-m", "clipig_nodes.benchmarks.memory", "--child", name, str(batch)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["growth"]


RUNS = [  # name, resolution, batch_size, center_crop, noise + blur after the crop
    ("base", 32, 1, 32, False), ("2048px, 4 views", 2048, 4, 224, False),
    ("1024px, 32 crops of 512", 1024, 32, 512, False), ("512px, 256 views", 512, 256, 224, False),
    ("4096px, 2 crops of 1024", 4096, 2, 1024, False),
    ("1024px, 32 crops, noise, blur", 1024, 32, 512, True),
    ("512px, 128 views, noise, blur", 512, 128, 224, True)]

_RUN = """
import resource, runpy, sys
sys.argv = ["main.py", "run", {path!r}, "-o", {out!r}, "--model", {model!r}, "--device", "cpu",
            "--epochs", "2", "-v", "0"]
try:
    runpy.run_path({main!r}, run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def run_graph(resolution: int, batch: int, crop: int, extra: bool):
    """The strawberries template at another size (graphs/strawberries.graph.yaml)."""
    from pathlib import Path

    from clipig_nodes.graph.fileformat import load_graph
    root = Path(__file__).resolve().parents[2]
    g = load_graph(root / "graphs" / "strawberries.graph.yaml")
    g.set_param("pixels", "resolution", [resolution, resolution])
    g.set_param("random_sampler", "batch_size", batch)
    g.set_param("center_crop", "size", [crop, crop])
    g.set_param("train", "snapshot_interval", 0)
    if extra:
        g.add_node("noise", params={"std": 0.1})
        g.add_node("blur", params={"kernel_size": 5})
        g.disconnect(g.links_into("random_sampler", "image")[0])
        g.connect("center_crop", "image", "noise", "image")
        g.connect("noise", "image", "blur", "image")
        g.connect("blur", "image", "random_sampler", "image")
    return g


def peak_and_estimate(graph, model: str, folder) -> tuple[int, int]:
    """(peak RSS of a 2-epoch run in a fresh process, the estimate's total) in bytes."""
    from pathlib import Path

    from clipig_nodes.engine import memory
    from clipig_nodes.graph.compile import compile_graph
    from clipig_nodes.graph.fileformat import save_graph
    root = Path(__file__).resolve().parents[2]
    path = Path(folder) / "memory-run.graph.yaml"
    save_graph(graph, path)
    code = _RUN.format(path=str(path), out=f"{folder}/out/", model=model,
                       main=str(root / "main.py"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, check=True)
    peak = int(out.stdout.split("PEAK")[-1].split()[0])
    program = compile_graph(graph)
    resolution = program.source.params["resolution"]
    needed = memory.estimate(resolution, memory.target_shapes(program), memory.model_cost(model))
    return peak, needed.total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", nargs="*", default=None, metavar="MODEL",
                        help="also measure the real CPU peak of these models (default: tiny, "
                             "ViT-B/32)")
    parser.add_argument("--runs", action="store_true",
                        help="compare whole CPU runs with the estimate (needs --model)")
    parser.add_argument("--model", help="CLIP checkpoint for --runs (e.g. the tiny test model)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _peak_child(args.child[0], int(args.child[1]))
        return 0
    if args.runs:
        if not args.model:
            parser.error("--runs needs --model CHECKPOINT")
        import tempfile
        base = None
        with tempfile.TemporaryDirectory() as folder:
            for name, *size in RUNS:
                peak, needed = peak_and_estimate(run_graph(*size), args.model, folder)
                base = base or (peak, needed)
                if name != "base":
                    real, est = peak - base[0], needed - base[1]
                    print(f"{name:32} real {real / 1e6:7.0f} MB  estimate {est / 1e6:7.0f} MB  "
                          f"ratio {est / real:.2f}", flush=True)
        return 0
    print(f"{'model':16} {'input':>5} {'weights MB':>10} {'saved MB/view':>13}")
    for name in CONFIGS if args.measure is None else ():
        per_view = saved_bytes(name, 2) - saved_bytes(name, 1)
        print(f"{name:16} {CONFIGS[name][1]:5} {weights_bytes(name) / 1e6:10.1f} "
              f"{per_view / 1e6:13.2f}")
    if args.measure is not None:
        for name in args.measure or ["tiny", "ViT-B/32"]:
            low, high = (1, 8) if name != "tiny" else (8, 256)
            a, b = measure_peak(name, low), measure_peak(name, high)
            real = (b - a) / (high - low)
            saved = saved_bytes(name, 2) - saved_bytes(name, 1)
            print(f"{name}: real peak {real / 1e6:.2f} MB/view (batch {low} -> {high}), "
                  f"saved {saved / 1e6:.2f} MB/view, factor {real / saved:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
