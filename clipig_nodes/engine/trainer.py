"""The training loop: one compiled graph (Program) -> pixels that CLIP likes.

One epoch (`Trainer.step`):
  1. time t = e / max(1, E - 1); the resolution expression, resampling the
     pixels (and a fresh optimizer) when it changes; the learning rate
     base x learnrate_scale x learnrate;
  2. views of every active target from clamp(pixels, 0, 1), batched, each
     target's chain with per-sample random draws on the device;
  3. ONE CLIP forward over all targets' views; losses; backward; optimizer step;
  4. post-processing applied to the pixels in place (after the step, as
     CLIPig's docs describe; its code ran it before the forward pass).
No host syncs happen inside a step: losses and statistics stay tensors.
"""

from __future__ import annotations

import os
import random
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from ..registry import default_registry
from ..values import is_active_at
from . import imaging, memory
from .clipmodel import ClipModel, load_clip
from .device import resolve_device
from .errors import EngineError, in_node, is_out_of_memory, out_of_memory_error
from .optimizers import base_rate, make_optimizer
from .params import EpochContext, StageParams
from .pixels import initial_pixels, resample
from .stats import Stats
from .targets import EncodedFeatures, TargetRuntime


@dataclass
class RunOptions:
    """Overrides of the Train node's settings, and how to run."""

    device: str | None = None
    model: str | None = None
    epochs: int | None = None
    seed: int | None = None
    precision: str = "fp32"         # fp32 | bf16 (autocast; pixels stay fp32)
    compile: bool = False           # torch.compile the CLIP image encoder
    deterministic: bool = True      # CUDA: same seed, same image (costs speed on GPUs)
    base_dir: Path | None = None    # folder that relative file names in the graph start from


@dataclass
class StepInfo:
    epoch: int
    t: float
    loss: torch.Tensor              # on the device; read it only when it is shown
    learnrate: float


class Trainer:
    def __init__(self, program, options: RunOptions | None = None, clip: ClipModel | None = None):
        self.options = options = options or RunOptions()
        if options.precision not in ("fp32", "bf16"):
            raise EngineError(f"unknown precision '{options.precision}': use fp32 or bf16")
        self.program = program
        train = program.train.params
        self.device = resolve_device(options.device or train["device"])
        if self.device.type == "cuda":
            # same seed, same device, same image: cuBLAS needs a fixed workspace for that,
            # and torch must pick deterministic kernels (the engine avoids the ones without)
            if options.deterministic:
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(options.deterministic, warn_only=True)
        self.epochs = train["epochs"] if options.epochs is None else int(options.epochs)
        self.start_epoch = train["start_epoch"]
        seed = options.seed if options.seed is not None else train["seed"]
        self.seed = int.from_bytes(os.urandom(6), "little") if seed is None else int(seed)
        self.clip = clip or load_clip(options.model or train["model"], self.device)
        if options.compile:
            self.clip.visual = torch.compile(self.clip.model.visual)
        self.registry = default_registry()
        self.rng = random.Random(self.seed)
        self.generator = torch.Generator(self.device).manual_seed(self.seed)
        self.epoch = self.start_epoch
        self.pixels: torch.nn.Parameter | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.learnrate = 0.0
        self.last_views: dict[str, torch.Tensor] = {}   # target id -> what CLIP saw last epoch
        self._constant_cache: dict = {}
        self._build_targets()

    # --- set-up -----------------------------------------------------------------------------

    def _build_targets(self) -> None:
        self.targets = [TargetRuntime(plan, None, self.clip.input_size)
                        for plan in self.program.targets]
        self.stats = Stats(self.targets)

    def _encode_features(self) -> None:
        """Encode every target's features (cached) and their fair scales from the current image."""
        base = self.options.base_dir
        for target in self.targets:
            stages = target.plan.features
            if not stages:
                continue
            ctx = self._context(self.epoch)
            rows = []
            for s in stages:
                with in_node(s.id, s.type):
                    rows.append(self.registry[s.type].encode(self.clip, StageParams(s, ctx, 1), base))
            embeddings = torch.stack(rows).float()
            fair = torch.ones(len(stages), device=self.device)
            if target.plan.stage.params["feature_scale"] == "fair":
                fair = self._fair_scales(embeddings)
            target.features = EncodedFeatures(embeddings, fair)

    @torch.no_grad()
    def _fair_scales(self, embeddings: torch.Tensor) -> torch.Tensor:
        """a_i = (1/s_i) / max_j(1/s_j), s_i = f_i . g, g = the initial image's embedding."""
        view = self.pixels.detach().clamp(0, 1)
        size = self.clip.input_size
        view = imaging.resize(view, (size, size), "bicubic", antialias=True).clamp(0, 1)
        g = self.clip.encode_views(view)[0].float()
        inverse = 1.0 / (embeddings @ g)
        return inverse / inverse.max()

    def _check_memory(self, ctx: EpochContext, resolution) -> None:
        """Refuse, before allocating, a run whose estimate exceeds the device's free memory."""
        weights = sum(t.numel() * t.element_size() for t in self.clip.model.parameters())
        conv1 = getattr(self.clip.model.visual, "conv1", None)     # a ViT's patch embedding
        patch = conv1.kernel_size[0] if hasattr(self.clip.model.visual, "transformer") else None
        model = memory.model_cost(self.options.model or self.program.train.params["model"],
                                  self.clip.input_size, weights, patch)
        shapes = memory.target_shapes(self.program, self.registry,
                                      lambda stage, name: StageParams(stage, ctx, 1).value(name),
                                      resolution)
        needed = memory.estimate(resolution, shapes, model, self.program.train.params["optimizer"],
                                 self.options.precision, model_loaded=True)
        memory.check_fits(needed, memory.available_bytes(str(self.device)), str(self.device))

    def _setup(self, ctx: EpochContext) -> None:
        source = self.program.source
        p = StageParams(source, ctx, 1)
        self._check_memory(ctx, p.value("resolution"))
        cpu_generator = torch.Generator().manual_seed(self.seed)
        pixels = initial_pixels(p.value("resolution"), p.value("init_mean"), p.value("init_std"),
                                p.value("init_image"), p.value("init_resolution"), cpu_generator,
                                self.options.base_dir)
        self._set_pixels(pixels.to(self.device))
        self._encode_features()

    def _set_pixels(self, pixels: torch.Tensor) -> None:
        self.pixels = torch.nn.Parameter(pixels.float().contiguous())
        name = self.program.train.params["optimizer"]
        self.optimizer = make_optimizer(name, [self.pixels], base_rate(name))

    # --- one epoch --------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.epoch >= self.epochs

    def _context(self, epoch: int) -> EpochContext:
        t = epoch / max(1, self.epochs - 1)
        ctx = EpochContext(epoch, t, self.device, self.generator, self.rng,
                           cache=self._constant_cache)
        if self.pixels is not None:
            ctx.height, ctx.width = self.pixels.shape[-2:]
        return ctx

    def step(self) -> StepInfo:
        """Run one epoch; raises EngineError for what a user can fix (e.g. out of memory)."""
        try:
            return self._step()
        except (RuntimeError, MemoryError) as exc:
            # CUDA raises OutOfMemoryError, the CPU allocator a plain RuntimeError: one message
            if is_out_of_memory(exc):
                raise out_of_memory_error(self.device.type, self.epoch) from None
            raise

    def _step(self) -> StepInfo:
        epoch = self.epoch
        ctx = self._context(epoch)
        if self.pixels is None:
            self._setup(ctx)
        self._follow_resolution(ctx)
        ctx.height, ctx.width = self.pixels.shape[-2:]
        self._set_learnrate(ctx)

        active = [t for t in self.targets if t.active(ctx)]
        loss = torch.zeros((), device=self.device)
        if active:
            with self._autocast():
                pixels = self.pixels.clamp(0, 1)
                views = [t.views(pixels, ctx) for t in active]
                embeddings = self.clip.encode_views(torch.cat(views)).float()
                offset = 0
                self.last_views = {t.id: v.detach() for t, v in zip(active, views)}
                for target, target_views in zip(active, views):
                    n = target_views.shape[0]
                    value, stats = target.loss(embeddings[offset:offset + n],
                                               target_views.float(), ctx)
                    offset += n
                    self.stats.record(target.id, stats)
                    loss = loss + value.sum()
        # targets without features or constraints (or all scheduled off) give no gradient:
        # nothing to step this epoch (backward would raise)
        if loss.requires_grad:
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        self._postprocess(ctx)
        self.stats.record_loss(loss)
        self.epoch += 1
        return StepInfo(epoch, ctx.t, loss.detach(), self.learnrate)

    def _autocast(self):
        if self.options.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def _follow_resolution(self, ctx: EpochContext) -> None:
        source = self.program.source
        size = StageParams(source, ctx, 1).value("resolution")
        if (self.pixels.shape[-1], self.pixels.shape[-2]) != tuple(size):
            self._check_memory(ctx, size)
            with torch.no_grad():
                resized = resample(self.pixels.detach(), size, source.params["interpolation"])
            self._set_pixels(resized)      # CLIPig starts a new optimizer, too

    def _set_learnrate(self, ctx: EpochContext) -> None:
        train = self.program.train
        p = StageParams(train, ctx, 1)
        scale = float(p.value("learnrate_scale"))
        ctx.lrs = scale
        self.learnrate = base_rate(train.params["optimizer"]) * scale * float(p.value("learnrate"))
        ctx.lr = self.learnrate
        for group in self.optimizer.param_groups:
            group["lr"] = self.learnrate

    @torch.no_grad()
    def _postprocess(self, ctx: EpochContext) -> None:
        stages = [s for s in self.program.postproc if is_active_at(s.start, s.end, ctx.epoch, ctx.t)]
        if not stages:
            return
        x = self.pixels.detach()
        for stage in stages:
            with in_node(stage.id, stage.type):
                x = self.registry[stage.type].apply(x, StageParams(stage, ctx, 1))
        self.pixels.copy_(x)

    # --- results and updates ----------------------------------------------------------------

    def image(self) -> torch.Tensor:
        """The current image [1,3,H,W], clamped to [0,1], detached."""
        if self.pixels is None:
            raise EngineError("no image yet: the run has not started")
        return self.pixels.detach().clamp(0, 1)

    def update(self, program) -> None:
        """Take a recompiled graph between epochs; training goes on from the current pixels.

        Param changes and new or removed nodes all come as a new Program; features are
        encoded again (cached ones cost nothing), the optimizer state is kept unless the
        optimizer itself changed.
        """
        old_optimizer = self.program.train.params["optimizer"]
        self.program = program
        self.epochs = program.train.params["epochs"] if self.options.epochs is None else self.epochs
        self._constant_cache.clear()
        self._build_targets()
        if self.pixels is not None:
            self._encode_features()
            if program.train.params["optimizer"] != old_optimizer:
                self._set_pixels(self.pixels.detach())
