"""`main.py bench`: how close a training epoch comes to the cost of CLIP itself.

It runs the strawberries template (shift/rotate/scale/center_crop, blur
constraint) on a randomly initialised ViT-B/32 built locally (same compute as
the real one, no download) and measures, in one process:
  - ms per epoch of the full training step;
  - the floor: a bare CLIP image forward + backward on a batch of the same size
    and precision (what no engine can avoid);
  - their ratio (1.0 = no overhead) and cutouts (views) per second.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ..graph.fileformat import load_graph
from ..graph.compile import compile_graph
from .clipmodel import ClipModel
from .device import resolve_device
from .trainer import RunOptions, Trainer

TEMPLATE = Path(__file__).resolve().parent.parent.parent / "graphs" / "strawberries.graph.yaml"
VIT_B32 = dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768,
               vision_patch_size=32, context_length=77, vocab_size=49408,
               transformer_width=512, transformer_heads=8, transformer_layers=12)


@dataclass
class BenchResult:
    device: str
    precision: str
    resolution: int
    batch: int
    epoch_ms: float
    floor_ms: float
    deterministic: bool = True
    captured: bool = False          # the step ran as a replayed CUDA graph

    @property
    def ratio(self) -> float:
        return self.epoch_ms / self.floor_ms

    @property
    def cutouts_per_s(self) -> float:
        return self.batch / (self.epoch_ms / 1000)

    def report(self) -> str:
        return (f"device {self.device}, {self.precision}, {self.resolution}x{self.resolution}, "
                f"batch {self.batch}, {'deterministic' if self.deterministic else 'fast'} "
                f"kernels, CUDA graph {'on' if self.captured else 'off'}\n"
                f"  training epoch       {self.epoch_ms:9.1f} ms\n"
                f"  CLIP fwd+bwd (floor) {self.floor_ms:9.1f} ms\n"
                f"  ratio                {self.ratio:9.3f}\n"
                f"  cutouts/s            {self.cutouts_per_s:9.1f}")


def random_vit_b32(device: torch.device, seed: int = 0) -> ClipModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from clip.model import CLIP
    torch.manual_seed(seed)
    model = CLIP(**VIT_B32).to(device)
    return ClipModel(model, "random-ViT-B/32", device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device, repeats: int) -> float:
    """Median wall time of fn() in ms (after the caller's warm-up)."""
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]


def run_bench(resolution: int = 512, batch: int = 5, precision: str = "fp32",
              device: str | None = None, epochs: int = 10, compile: bool = False,
              warmup: int = 3, deterministic: bool = True,
              cuda_graph: str = "auto") -> BenchResult:
    dev = resolve_device(device)
    clip = random_vit_b32(dev)
    graph = load_graph(TEMPLATE)
    target = next(n.id for n in graph if n.type == "target")
    graph.set_param("pixels", "resolution", [resolution, resolution])
    graph.set_param(target, "batch_size", batch)
    options = RunOptions(device=str(dev), epochs=10**6, seed=0, precision=precision,
                         compile=compile, deterministic=deterministic, cuda_graph=cuda_graph)
    trainer = Trainer(compile_graph(graph), options, clip=clip)

    size = clip.input_size
    views = torch.rand(batch, 3, size, size, device=dev, requires_grad=True)
    autocast = (torch.autocast(dev.type, dtype=torch.bfloat16) if precision == "bf16"
                else torch.autocast(dev.type, enabled=False))

    def floor_step():
        with autocast:
            loss = clip.encode_views(views).float().sum()
        loss.backward()

    def train_step():
        trainer.step()

    for _ in range(warmup):
        train_step()
        floor_step()
    # interleave the two so that machine noise hits both alike
    epoch_ms, floor_ms = [], []
    for _ in range(epochs):
        epoch_ms.append(_time(train_step, dev, 1))
        floor_ms.append(_time(floor_step, dev, 1))
    epoch_ms.sort()
    floor_ms.sort()
    captured = trainer.capture is not None and bool(trainer.capture.graphs)
    return BenchResult(str(dev), precision, resolution, batch, epoch_ms[len(epoch_ms) // 2],
                       floor_ms[len(floor_ms) // 2], deterministic, captured)
