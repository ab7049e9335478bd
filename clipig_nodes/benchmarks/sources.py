"""Time what the pixel sources and cutouts add to a training step.

Run: ``python -m clipig_nodes.benchmarks.sources [--device cpu|cuda] [--threads N]``.
Prints, per source and size, render + backward (best of several repeats) and, for
cutouts, 16 views of 224 from a 512 x 512 image, forward + backward. `--artifacts` also
trains each source for 60 epochs at 128 x 128 (8 cutouts) on a tiny random-weight CLIP and
prints the share of the image's energy above half the Nyquist frequency: grid and noise
artifacts, not whether the image shows the prompt.
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


TINY_CLIP = dict(embed_dim=32, image_resolution=32, vision_layers=1, vision_width=64,
                 vision_patch_size=16, context_length=77, vocab_size=49408,
                 transformer_width=64, transformer_heads=1, transformer_layers=1)
ARTIFACT_SETTINGS = (("pixels", 1.0), ("fourier_pixels", 5.0), ("pyramid_pixels", 1.0))


def high_frequency_share(image: torch.Tensor) -> float:
    """Share of the energy of [1,3,H,W] (per channel, mean removed) above half Nyquist."""
    x = image[0] - image[0].mean(dim=(1, 2), keepdim=True)
    power = torch.fft.rfft2(x).abs() ** 2
    h, w = x.shape[-2:]
    fy = torch.fft.fftfreq(h, device=x.device)[:, None].abs()
    fx = torch.fft.rfftfreq(w, device=x.device)[None, :]
    high = (torch.maximum(fx, fy) > 0.25).expand_as(power)
    return float(power[high].sum() / power.sum())


def artifacts(device: torch.device, seeds=(0, 1, 2), epochs: int = 60) -> None:
    import warnings

    from clipig_nodes.engine import Run, RunOptions
    from clipig_nodes.engine.clipmodel import ClipModel
    from clipig_nodes.graph.model import Graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from clip.model import CLIP
    torch.manual_seed(0)
    clip = ClipModel(CLIP(**TINY_CLIP).to(device), "tiny-random", device)
    for source, learnrate in ARTIFACT_SETTINGS:
        shares = []
        for seed in seeds:
            g = Graph()
            g.add_node(source, "source", params={"resolution": [128, 128]})
            g.add_node("cutouts", params={"count": 8, "size": 32})
            g.add_node("text_feature", params={"text": "a red square on a yellow background"})
            g.add_node("target")
            g.add_node("train", params={"epochs": epochs, "learnrate": learnrate})
            g.connect("source", "image", "cutouts", "image")
            g.connect("cutouts", "image", "target", "image")
            g.connect("text_feature", "feature", "target", "features")
            g.connect("target", "target", "train", "targets")
            result = Run(g, RunOptions(device=str(device), seed=seed), save=False,
                         clip=clip).run()
            shares.append(high_frequency_share(result.pixels))
        print(f"{source:15s} learnrate {learnrate:g}: high-frequency share after {epochs} "
              f"epochs, seeds {', '.join(map(str, seeds))}: "
              + ", ".join(f"{s:.3f}" for s in shares))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--artifacts", action="store_true",
                        help="also the high-frequency share after training each source")
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
    if args.artifacts:
        artifacts(device)


if __name__ == "__main__":
    main()
