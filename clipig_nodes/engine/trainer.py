"""The training loop: a compiled step program -> an image that CLIP likes.

One epoch (`Trainer.step`):
  1. time t = e / max(1, E - 1); the source's resolution expression, resampling its state
     (and a fresh optimizer) when it changes; the learning rate
     base x learnrate_scale x learnrate;
  2. the executor renders the source, makes every active target's views (batched, per-sample
     random draws on the device), runs ONE forward per model and the targets' losses;
  3. backward and the optimizer step;
  4. post-processing on the rendered image, written back into the source (after the step,
     as CLIPig's docs describe; its code ran it before the forward pass).
No host syncs happen inside a step: losses and statistics stay tensors. On CUDA the
device work of a step is captured once per shape key as a CUDA graph and replayed
(engine/cuda_graph.py).
"""

from __future__ import annotations

import os
import random
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from . import memory
from .clipmodel import ClipModel, load_clip
from .device import resolve_device
from .errors import EngineError, in_node, is_out_of_memory, out_of_memory_error
from .executor import Executor, call_node
from .optimizers import base_rate, make_optimizer
from .params import EpochContext, StageParams
from .stats import Stats


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
    cuda_graph: str = "auto"        # auto: capture the step as a CUDA graph on CUDA; off


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
        if options.cuda_graph not in ("auto", "off"):
            raise EngineError(f"unknown --cuda-graph '{options.cuda_graph}': use auto or off")
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
        if not 0 <= self.seed <= 2**63 - 1:         # torch's generators take 64-bit seeds
            raise EngineError(f"seed {seed} is out of range: use 0 to 2**63 - 1")
        self.clip = clip or load_clip(options.model or train["model"], self.device)
        if options.compile:
            self.clip.visual = torch.compile(self.clip.model.visual)
        self.rng = random.Random(self.seed)
        self.generator = torch.Generator(self.device).manual_seed(self.seed)
        # previews draw from their own generators: showing one never changes the training
        self.preview_rng = random.Random(self.seed + 1)
        self.preview_generator = torch.Generator(self.device).manual_seed(self.seed + 1)
        self.epoch = self.start_epoch
        self.state: dict[str, torch.nn.Parameter] | None = None   # the source's trainables
        self.optimizer: torch.optim.Optimizer | None = None
        self.learnrate = 0.0
        self.last_views: dict[str, torch.Tensor] = {}   # target id -> what CLIP saw last epoch
        self._constant_cache: dict = {}
        self._lr_factors: list[float] = []
        self._size: tuple[int, int] | None = None       # (width, height) of the source
        self.capture = None
        self._build()

    # --- set-up -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.models = {model_id: self._model(stage) for model_id, stage
                       in self.program.models.items()}
        self.executor = Executor(self.program, self.models, self.device, self.options.base_dir)
        self.stats = Stats(self.program.targets)
        self.capture = None
        if self.device.type == "cuda" and self.options.cuda_graph == "auto":
            from .cuda_graph import CapturedStep
            self.capture = CapturedStep(self)

    def _model(self, stage):
        """The implicit model (train.model), or a model node's (the loaders keep each loaded
        model for the process, so an update or another run does not load it again)."""
        if stage is None:
            return self.clip
        p = StageParams(stage, self._context(self.epoch), 1)
        return call_node(stage, stage.node_type.load, p, self.device)

    def _source_params(self, ctx: EpochContext) -> StageParams:
        return StageParams(self.program.source, ctx, 1)

    def _check_memory(self, ctx: EpochContext, resolution) -> None:
        """Refuse, before allocating, a run whose estimate exceeds the device's free memory
        (engine/memory.py; the implicit model stands for every model of the run)."""
        visual = self.clip.model.visual
        weights = sum(t.numel() * t.element_size() for t in self.clip.model.parameters())
        patch = visual.conv1.kernel_size[0] if hasattr(visual, "transformer") else None
        model = memory.model_cost(self.options.model or self.program.train.params["model"],
                                  self.clip.input_size, weights, patch)
        shapes = memory.target_shapes(self.program, None,
                                      lambda stage, name: StageParams(stage, ctx, 1).value(name),
                                      resolution)
        source = self.program.source
        init_size = None if self.started else source.node_type.init_size(self._source_params(ctx))
        needed = memory.estimate(resolution, shapes, model, self.program.train.params["optimizer"],
                                 self.options.precision, model_loaded=True, init_size=init_size)
        memory.check_fits(needed, memory.available_bytes(str(self.device)), str(self.device))

    def _setup(self, ctx: EpochContext) -> None:
        source = self.program.source
        self._check_memory(ctx, self._source_params(ctx).value("resolution"))
        cpu_generator = torch.Generator().manual_seed(self.seed)
        state = call_node(source, source.node_type.init, self._source_params(ctx), cpu_generator,
                          self.options.base_dir)
        self._set_state(state)
        self.executor.encode_features(ctx, self._render(ctx).detach().clamp(0, 1))

    def _set_state(self, state: dict) -> None:
        source = self.program.source
        self.state = {k: torch.nn.Parameter(v.to(self.device).float().contiguous())
                      for k, v in state.items()}
        name = self.program.train.params["optimizer"]
        factors = source.node_type.lr_factors(self._source_params(self._context(self.epoch)))
        rate = base_rate(name)
        capturable = self.capture is not None
        if not factors:
            self._lr_factors = [1.0]
            self.optimizer = make_optimizer(name, list(self.state.values()), rate, capturable)
        else:
            groups = [{"params": [v], "lr": rate * factors.get(k, 1.0)}
                      for k, v in self.state.items()]
            self._lr_factors = [factors.get(k, 1.0) for k in self.state]
            self.optimizer = make_optimizer(name, groups, rate, capturable)
        with torch.no_grad():
            self._size = tuple(self._render(self._context(self.epoch)).shape[-1:-3:-1])
        if self.capture is not None:
            self.capture.invalidate()

    def _render(self, ctx: EpochContext) -> torch.Tensor:
        source = self.program.source
        return call_node(source, source.node_type.render, self.state, self._source_params(ctx))

    # --- one epoch --------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.epoch >= self.epochs

    @property
    def started(self) -> bool:
        """Whether the source has its state (after the first epoch's set-up)."""
        return self.state is not None

    @property
    def pixels(self) -> torch.Tensor | None:
        """The current image [1,3,H,W] in [0,1], or None before the first epoch."""
        return None if self.state is None else self.image()

    def _context(self, epoch: int, preview: bool = False) -> EpochContext:
        t = epoch / max(1, self.epochs - 1)
        generator, rng = ((self.preview_generator, self.preview_rng) if preview
                          else (self.generator, self.rng))
        ctx = EpochContext(epoch, t, self.device, generator, rng, cache=self._constant_cache)
        if self._size is not None:
            ctx.width, ctx.height = self._size
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
        if self.state is None:
            self._setup(ctx)
        self._follow_resolution(ctx)
        ctx.width, ctx.height = self._size
        self._set_learnrate(ctx)
        if self.capture is not None and self.capture.ready(ctx):
            loss = self.capture.replay(ctx)
        else:
            loss = self.train_step(ctx)
        self._postprocess(ctx)
        self.stats.record_loss(loss)
        self.epoch += 1
        return StepInfo(epoch, ctx.t, loss.detach(), self.learnrate)

    def train_step(self, ctx: EpochContext) -> torch.Tensor:
        """The device work of one epoch: views, forward, losses, backward, optimizer step."""
        loss = self.forward_backward(ctx)
        if loss is None:
            return torch.zeros((), device=self.device)
        train = self.program.train
        with in_node(train.id, train.type):       # the optimizer is the train node's
            self.optimizer.step()
        return loss

    def forward_backward(self, ctx: EpochContext) -> torch.Tensor | None:
        """Views, every model's forward, the losses and their gradient; None: nothing active."""
        with self._autocast():
            image = self._render(ctx).clamp(0, 1)
            loss, records, views = self.executor.forward(image, ctx)
        if loss is None or not loss.requires_grad:
            # targets without features or constraints (or all scheduled off) give no
            # gradient: nothing to step this epoch (backward would raise)
            return None
        self.last_views = {k: v.detach() for k, v in views.items()}
        for target_id, stats in records:
            self.stats.record(target_id, stats)
        self.optimizer.zero_grad(set_to_none=False)
        loss.backward()
        return loss

    def _autocast(self):
        if self.options.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def _follow_resolution(self, ctx: EpochContext) -> None:
        source = self.program.source
        p = self._source_params(ctx)
        size = tuple(p.value("resolution"))
        if self._size != size:
            self._check_memory(ctx, size)
            with torch.no_grad():
                state = call_node(source, source.node_type.resample,
                                  {k: v.detach() for k, v in self.state.items()}, size, p)
            self._set_state(state)      # CLIPig starts a new optimizer, too

    def _set_learnrate(self, ctx: EpochContext) -> None:
        train = self.program.train
        p = StageParams(train, ctx, 1)
        scale = float(p.value("learnrate_scale"))
        ctx.lrs = scale
        self.learnrate = base_rate(train.params["optimizer"]) * scale * float(p.value("learnrate"))
        ctx.lr = self.learnrate
        for group, factor in zip(self.optimizer.param_groups, self._lr_factors):
            if torch.is_tensor(group["lr"]):
                group["lr"].fill_(self.learnrate * factor)    # a captured step reads it
            else:
                group["lr"] = self.learnrate * factor

    @torch.no_grad()
    def _postprocess(self, ctx: EpochContext) -> None:
        if not self.program.postproc:
            return
        image = self._render(ctx).detach()
        edited = self.executor.postprocess(image, ctx)
        if edited is not None:
            source = self.program.source
            call_node(source, source.node_type.write, self.state, edited,
                      self._source_params(ctx))

    # --- results, previews and updates --------------------------------------------------------

    def image(self) -> torch.Tensor:
        """The current image [1,3,H,W], clamped to [0,1], detached."""
        if self.state is None:
            raise EngineError("no image yet: the run has not started")
        with torch.no_grad():
            return self._render(self._context(self.epoch)).detach().clamp(0, 1)

    def preview(self, plan) -> torch.Tensor:
        """The image of a preview plan now ([1,3,H,W] on the device), off the training step."""
        ctx = self._context(self.epoch, preview=True)
        return self.executor.preview(plan, self.image(), ctx)

    def update(self, program) -> None:
        """Take a recompiled graph between epochs; training goes on from the current image.

        Param changes and new or removed nodes all come as a new program; features are
        encoded again (cached ones cost nothing), the optimizer state is kept unless the
        optimizer or the source's type changed.
        """
        old = self.program
        self.program = program
        self.epochs = program.train.params["epochs"] if self.options.epochs is None else self.epochs
        self._constant_cache.clear()
        self._build()
        if self.state is None:
            return
        ctx = self._context(self.epoch)
        if program.source.type != old.source.type:
            image = self.image()
            source = program.source
            state = call_node(source, source.node_type.init, self._source_params(ctx),
                              torch.Generator().manual_seed(self.seed), self.options.base_dir)
            state = source.node_type.resample(state, self._size, self._source_params(ctx))
            self._set_state(state)
            with torch.no_grad():
                source.node_type.write(self.state, image, self._source_params(ctx))
        elif program.train.params["optimizer"] != old.train.params["optimizer"]:
            self._set_state({k: v.detach() for k, v in self.state.items()})
        self.executor.encode_features(ctx, self.image())
