"""How much memory a run needs, estimated before it allocates, and whether that fits.

No torch here (only `available_bytes` on CUDA imports it), so the estimate can run
before anything is allocated. All sizes are in bytes; values are float32 (4 bytes).

The formula (P = 3 * width * height * 4, the pixels of the image):

  total = model weights                                  (all of CLIP, text encoder too)
        + P * (8 + optimizer states)                     (pixels, gradient, clamped copy and
                                                          its gradient, the initial image while
                                                          it is made; Adam 2 states, RMSprop 3,
                                                          SGD 0)
        + per target, with B its views per epoch:
            6 * B * 3 * w_i * h_i * 4 for every stage output (w_i x h_i) the chain
                                                         materialises (output, gradient, and
                                                          for geometric stages the sampling
                                                          coordinates and int64 indices); a run
                                                          of geometric stages is fused into one
          + 2 * B * 3 * S * S * 4                        (the views resized to CLIP's S x S)
          + 4 * B * 3 * S * S * 4 per constraint          (padded and blurred copies)
          + B * per_view                                 (CLIP activations, forward+backward)
        + 2 * 3 * w0 * h0 * 4                            (when the source's init makes a w0 x h0
                                                          image first: it and its resized copy)
        + SLACK

per_view is measured (python -m clipig_nodes.benchmarks.memory): for ViT-B/32 and the
tiny test model the real peak growth of a forward + backward pass per view on the CPU;
for the other models the bytes autograd saves per view (counted exactly on torch's meta
device) times PEAK_FACTOR, the ratio of the two measured for ViT-B/32. Under bf16
autocast the CLIP activations take about half (BF16_FACTOR, an estimate). The factors 8
and 6 are fitted to the peak memory of whole CPU runs (tests/test_memory.py lists them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .errors import EngineError

MB = 1_000_000
GB = 1_000_000_000
FLOAT = 4                   # bytes per float32 value
SLACK = 64 * MB             # allocator rounding, small tensors, Python objects
PEAK_FACTOR = 1.45          # real peak / saved bytes, measured for ViT-B/32 (39.6 / 27.6 MB)
BF16_FACTOR = 0.55
INIT_COPIES = 2             # the source's initial image at its own size, and its resize
PIXEL_COPIES = 8            # float32 copies of the image besides the optimizer's states
STAGE_COPIES = 6            # float32-sized copies per value of a materialised stage output
OPTIMIZER_STATES = {"adam": 2, "sgd": 0, "sparse_adam": 1, "adadelta": 2, "rmsprob": 3,
                    "rmsprop": 3}


@dataclass(frozen=True)
class ModelCost:
    """What one CLIP model costs: its weights and the activations of one view."""

    name: str
    input_size: int         # S: views are resized to S x S
    weights: int            # bytes of all parameters, fp32
    per_view: int           # bytes of a forward + backward pass per view, fp32
    patch: int | None = None    # a vision transformer's patch size; None for ResNets


def _derived(name, size, weights_mb, saved_mb, patch=None) -> ModelCost:
    return ModelCost(name, size, int(weights_mb * MB), int(saved_mb * MB * PEAK_FACTOR), patch)


# Measured on the 2-core Intel Xeon VM (python -m clipig_nodes.benchmarks.memory [--measure])
KNOWN_MODELS = {m.name: m for m in (
    ModelCost("ViT-B/32", 224, int(605.1 * MB), int(39.57 * MB), 32),  # real peak, batch 1 -> 8
    ModelCost("tiny", 32, int(13.3 * MB), int(0.09 * MB), 16),         # tests/tiny_clip.py
    _derived("ViT-B/16", 224, 598.5, 140.37, 16),
    _derived("ViT-L/14", 224, 1710.5, 533.10, 14),
    _derived("ViT-L/14@336px", 336, 1711.8, 1764.08, 14),
    _derived("RN50", 224, 408.0, 99.71),
    _derived("RN101", 224, 478.8, 140.66),
    _derived("RN50x4", 288, 713.2, 273.78),
    _derived("RN50x16", 384, 1163.9, 810.12),
    _derived("RN50x64", 448, 2493.0, 1879.24),
)}


_UNKNOWN = object()


def model_cost(name: str, input_size: int | None = None, weights: int | None = None,
               patch: Any = _UNKNOWN) -> ModelCost:
    """The cost of a model by its name; a checkpoint file (not a known name) counts as the
    known architecture with the same input size, patch size (None: a ResNet) and the
    closest weight size (fine-tuned checkpoints keep their architecture). Pass what the
    loaded model says when known; without it the file's size stands for the weights."""
    if name in KNOWN_MODELS:
        return KNOWN_MODELS[name]
    candidates = list(KNOWN_MODELS.values())
    for attribute, wanted, known in (("input_size", input_size, input_size is not None),
                                     ("patch", patch, patch is not _UNKNOWN)):
        if known:
            same = [m for m in candidates if getattr(m, attribute) == wanted]
            candidates = same or candidates
    if weights is None:
        try:
            weights = Path(name).expanduser().stat().st_size
        except (OSError, ValueError):
            weights = KNOWN_MODELS["ViT-B/32"].weights
    best = min(candidates, key=lambda m: abs(m.weights - weights))
    scale = (input_size / best.input_size) ** 2 if input_size else 1.0
    return ModelCost(name, input_size or best.input_size, weights, int(best.per_view * scale),
                     best.patch)


@dataclass
class TargetShape:
    """One target as the estimate sees it."""

    name: str                       # node id, for the message
    batch_size: int                 # views per epoch (1 when no stage of the chain is random)
    sides: list = field(default_factory=list)   # (width, height) of each materialised output
    constraints: int = 0


@dataclass
class Estimate:
    total: int
    parts: dict                     # what -> bytes, for the message and the tests
    targets: list                   # TargetShape, for the knob to turn
    resolution: tuple
    init_size: tuple | None = None

    def knob(self) -> str:
        """What to lower: the source's init size when that is the largest part, else the
        target with the most views, else the resolution."""
        if self.init_size and self.parts["initial image"] == max(self.parts.values()):
            return f"lower the source's init_resolution ({self.init_size[0]} x {self.init_size[1]})"
        big = max(self.targets, key=lambda t: t.batch_size, default=None)
        if big is not None and big.batch_size > 1:
            return f"lower target '{big.name}' batch_size ({big.batch_size}) or the resolution"
        return f"lower the resolution ({self.resolution[0]} x {self.resolution[1]})"


def estimate(resolution: tuple, targets: Iterable[TargetShape], model: ModelCost,
             optimizer: str = "adam", precision: str = "fp32",
             model_loaded: bool = False, init_size: tuple | None = None) -> Estimate:
    """Bytes a run needs (see the module doc for the formula)."""
    width, height = (int(v) for v in resolution)
    targets = list(targets)
    pixels = 3 * width * height * FLOAT
    activation = model.per_view * (BF16_FACTOR if precision == "bf16" else 1.0)
    view = 3 * model.input_size ** 2 * FLOAT
    parts = {
        "CLIP weights": 0 if model_loaded else model.weights,
        "pixels and optimizer": pixels * (PIXEL_COPIES + OPTIMIZER_STATES.get(optimizer, 3)),
    }
    for t in targets:
        chain = sum(STAGE_COPIES * 3 * int(w) * int(h) * FLOAT for w, h in t.sides)
        parts[f"target '{t.name}'"] = int(t.batch_size * (chain + 2 * view
                                                          + 4 * view * t.constraints + activation))
    if init_size:
        init_size = tuple(int(v) for v in init_size)
        parts["initial image"] = INIT_COPIES * 3 * init_size[0] * init_size[1] * FLOAT
    parts["other"] = SLACK
    return Estimate(sum(parts.values()), parts, targets, (width, height), init_size)


# --- what the device has ------------------------------------------------------------------------

def available_bytes(device: str = "cpu") -> int | None:
    """Free memory of the device: CUDA from the driver plus the blocks torch caches unused,
    the CPU from /proc/meminfo (MemAvailable) and the cgroup limit of this process, whichever
    is lower. None when unknown (then nothing is refused). CLIPIG_NODES_MEMORY (bytes, or
    with a K/M/G suffix) replaces what the device reports: for a machine shared with other
    jobs."""
    override = environment_override()
    if override is not None:
        return override
    if str(device).startswith("cuda"):
        import torch
        device = torch.device(device)
        free, _ = torch.cuda.mem_get_info(device)
        # the driver counts torch's cached blocks as used; torch hands them out first
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + cached)
    found = [v for v in (_meminfo_available(), _cgroup_available()) if v is not None]
    return min(found) if found else None


def _meminfo_available(path: str = "/proc/meminfo") -> int | None:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available(root: str = "/sys/fs/cgroup") -> int | None:
    """cgroup v2: memory.max - memory.current of this process's group (None: no limit)."""
    try:
        with open("/proc/self/cgroup") as f:
            relative = next((line.split(":", 2)[2].strip() for line in f
                             if line.startswith("0::")), None)
        if relative is None:
            return None
        folder = Path(root) / relative.lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((folder / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


def check_fits(needed: Estimate, available: int | None, device: str = "cpu") -> None:
    """Raise EngineError when the estimate exceeds what the device has free:
    "needs about 31 GB, the machine has 24 GB free: lower target 'x' batch_size (4096) or
    the resolution"."""
    if available is None or needed.total <= available:
        return
    where = "the machine has" if str(device) == "cpu" else f"the GPU ({device}) has"
    raise EngineError(f"this run needs about {_size(needed.total)} of memory, {where} "
                      f"{_size(available)} free: {needed.knob()}")


def _size(n: int) -> str:
    if n >= 10 * GB:
        return f"{n / GB:,.0f} GB"
    return f"{n / GB:.1f} GB" if n >= GB else f"{max(1, round(n / MB))} MB"


# --- from a compiled program ---------------------------------------------------------------------

def target_shapes(program, registry=None, value: Callable[[Any, str], Any] | None = None,
                  resolution: tuple | None = None) -> list[TargetShape]:
    """TargetShapes of a compiled program (its stages' node types, else the registry's).
    `value(stage, name)` gives a param's value now
    (the engine passes its host values at the current epoch); by default the compiled
    constants. A transform that changes the resolution says how in `output_size(values,
    width, height) -> (width, height)`; one that does not say keeps the size."""
    value = value or (lambda stage, name: stage.params.get(name))
    width, height = resolution or value(program.source, "resolution")
    shapes = []
    for plan in program.targets:
        w, h = int(width), int(height)
        sides = []
        chain = [getattr(stage, "node_type", None) or registry[stage.type] for stage in plan.chain]
        for index, (stage, node_type) in enumerate(zip(plan.chain, chain)):
            size_of = getattr(node_type, "output_size", None)
            if size_of is not None:
                w, h = size_of(lambda name, _s=stage: value(_s, name), w, h)
            # the engine fuses a run of geometric stages: only its last output is made
            fused = node_type.geometric and index + 1 < len(chain) and chain[index + 1].geometric
            if not fused:
                sides.append((max(1, int(w)), max(1, int(h))))
        batch = int(value(plan.stage, "batch_size")) if any(s.random for s in plan.chain) else 1
        shapes.append(TargetShape(plan.id, batch, sides, len(plan.constraints)))
    return shapes


def environment_override() -> int | None:
    """CLIPIG_NODES_MEMORY as bytes (K, M, G suffixes: powers of 1024); None when unset."""
    text = os.environ.get("CLIPIG_NODES_MEMORY", "").strip().upper()
    if not text:
        return None
    factor = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1], 1)
    try:
        return int(float(text.rstrip("KMG")) * factor)
    except ValueError:
        return None
