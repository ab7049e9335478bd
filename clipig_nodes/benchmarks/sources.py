"""Time what the pixel sources and cutouts add to a training step.

Run: ``python -m clipig_nodes.benchmarks.sources [--device cpu|cuda] [--threads N]``.
Prints, per source and size, render + backward (best of several repeats) and, for
cutouts, 16 views of 224 from a 512 x 512 image, forward + backward.
"""

from __future__ import annotations

import argparse
import platform
import random
import time

import torch

from clipig_nodes.engine.params import EpochContext, StageParams
from clipig_nodes.graph.compile import Stage
from clipig_nodes.registry import default_registry
from clipig_nodes.values import parse_value

SOURCES = ("pixels", "fourier_pixels", "pyramid_pixels")
SIZES = (224, 512)


def stage_params(type_name: str, params: dict, device: torch.device, batch: int = 1):
    node_type = default_registry()[type_name]
    parsed = {p.name: parse_value(p, params.get(p.name, p.default)) for p in node_type.param_list}
    ctx = EpochContext(0, 0.0, device, torch.Generator(device).manual_seed(0), random.Random(0))
    return node_type, StageParams(Stage(f"{type_name}_bench", type_name, parsed, node_type), ctx,
                                  batch)


def best_ms(fn, device: torch.device, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{device}, {torch.get_num_threads()} threads")
    for name in SOURCES:
        for size in SIZES:
            node_type, p = stage_params(name, {"resolution": [size, size]}, device)
            state = {k: v.to(device).requires_grad_(True) for k, v in
                     node_type.init(p, torch.Generator().manual_seed(0), None).items()}

            def step():
                node_type.render(state, p).sum().backward()
            print(f"{name:15s} {size:4d} x {size:<4d} render + backward "
                  f"{best_ms(step, device, args.repeats):8.2f} ms")
    image = torch.rand(1, 3, 512, 512, device=device, requires_grad=True)
    for params in ({"count": 16}, {"count": 16, "max_size": 0.4},
                   {"count": 16, "perspective": 0.1, "jitter": 0.1, "noise": 0.05}):
        node_type, p = stage_params("cutouts", params, device)

        def cut():
            node_type.apply(image, p).sum().backward()
        label = ", ".join(f"{k} {v}" for k, v in params.items())
        print(f"cutouts 512 -> 224 ({label}): forward + backward "
              f"{best_ms(cut, device, max(2, args.repeats // 3)):8.1f} ms")


if __name__ == "__main__":
    main()
