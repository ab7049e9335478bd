"""A run: a graph trained to an image, with outputs, events and control.

`Run(graph, ...)` compiles the graph and loads CLIP. `run.events()` trains in
the calling thread and yields an `Event` after every epoch (loss and stats
only every few seconds, so the device is not waited on each epoch). From any
other thread: `stop()`, `pause()`, `resume()`, `update(graph)` (applied
between epochs; training continues from the current pixels). The CLI, the
notebook API (`clipig_nodes.engine.run_graph`) and the GUI all use this.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch

from ..graph.compile import compile_graph
from ..graph.model import Graph
from .errors import EngineError
from .images import to_pil
from ..output_names import output_path
from .outputs import OutputFile, run_header
from .stats import TargetStats, format_table
from .trainer import RunOptions, Trainer


@dataclass
class Event:
    kind: str                    # epoch | stats | snapshot | done | stopped
    epoch: int                   # epochs finished so far (index of the next one)
    epochs: int
    t: float
    learnrate: float
    loss: float | None = None            # set on stats/snapshot/done/stopped events
    stats: list[TargetStats] | None = None
    path: Path | None = None             # the image written (snapshot/done/stopped)
    image: torch.Tensor | None = None    # [1,3,H,W] on the CPU, when asked for (image_every)
    views: dict | None = None            # target id -> [B,3,S,S] CPU views, with image
    previews: dict | None = None         # "node.output" -> [1,3,H,W] CPU image, when due


@dataclass
class RunResult:
    pixels: torch.Tensor                 # [1,3,H,W] in [0,1], on the CPU
    stats: list[TargetStats]
    epochs: int                          # epochs run
    seed: int
    stopped: bool
    output: Path | None = None
    sidecar: Path | None = None
    runtime: float = 0.0
    events: list[Event] = field(default_factory=list, repr=False)

    @property
    def image(self):
        """The image as a PIL image (8 bit)."""
        return to_pil(self.pixels)

    def table(self) -> str:
        return format_table(self.stats)


class Run:
    def __init__(self, graph: Graph, options: RunOptions | None = None, *,
                 output: str | None = None, source: str | Path | None = None, save: bool = True,
                 stats_interval: float = 4.0, image_every: int = 0, clip=None,
                 previews: bool = False):
        self.graph = graph.copy()
        if output:
            _drop_refused_output(self.graph)     # -o decides; the file's own place is unused
        self.options = options or RunOptions()
        if self.options.base_dir is None and source is not None:
            self.options.base_dir = Path(source).parent
        self.trainer = Trainer(compile_graph(self.graph, epochs=self.options.epochs), self.options,
                               clip)
        train_id = self.program.train.id
        if self.graph.nodes[train_id].params.get("seed") is None:
            # the graph in the outputs repeats this run exactly
            self.graph.set_param(train_id, "seed", self.trainer.seed)
        self.source = source
        if output:
            self.wanted_output = output_path(output, source)
        else:
            try:
                self.wanted_output = output_path(self.program.train.params["output"], source,
                                                 from_graph=True)
            except ValueError as exc:      # validation refuses it first; this is the backstop
                raise EngineError(str(exc)) from None
        self.save = save
        self.stats_interval = stats_interval
        self.image_every = image_every
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._pending: tuple[Graph, object] | None = None
        self.output: OutputFile | None = None
        self.show_previews = previews        # the graph's preview nodes, each every N epochs
        self._requested: dict[tuple[str, str], int] = {}   # (node, output) -> every N epochs
        self._preview_plans: dict = {}       # (node, output) -> plan, for the program now run

    # --- control (thread-safe) --------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def program(self):
        """The program being trained: the edited graph's after an update."""
        return self.trainer.program

    def request_preview(self, node_id: str, output: str = "image", every: int = 1) -> None:
        """Show any IMAGE output of the running graph every N epochs (no gradient, off the
        training step, its own random draws). Raises KeyError for a node or output that has
        no image to show."""
        self.program.preview_of(node_id, output)        # fails now, not mid-run
        with self._lock:
            self._requested[(node_id, output)] = max(1, int(every))

    def cancel_preview(self, node_id: str, output: str = "image") -> None:
        with self._lock:
            self._requested.pop((node_id, output), None)

    def _previews(self, epoch: int, final: bool = False) -> dict | None:
        """The previews due after this epoch (all of them at the end); nothing is computed
        when none is asked for."""
        program = self.trainer.program
        due: dict[str, object] = {}          # name -> plan
        if self.show_previews:
            for plan in program.previews:
                if final or epoch % plan.stage.params["every"] == 0:
                    due[f"{plan.stage.id}.image"] = plan
        with self._lock:
            requested = dict(self._requested)
        for key, every in requested.items():
            if final or epoch % every == 0:
                plan = self._preview_plans.get(key)
                if plan is None:
                    try:
                        plan = self._preview_plans[key] = program.preview_of(*key)
                    except KeyError:                # gone after an update
                        self.cancel_preview(*key)
                        continue
                due[".".join(key)] = plan
        if not due:
            return None
        return {name: self.trainer.preview(plan).float().cpu() for name, plan in due.items()}

    def update(self, graph: Graph) -> None:
        """Apply an edited graph between epochs. Raises ProblemsError now if it is invalid."""
        program = compile_graph(graph, epochs=self.options.epochs)
        with self._lock:
            self._pending = (graph.copy(), program)

    # --- running ----------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        if self.save:
            self.output = OutputFile(self.wanted_output)
        self._finished = False
        self._started = time.monotonic()
        try:
            yield from self._train_events()
        except BaseException:
            # an error mid-run (out of memory, a bad image file), or the consumer stopped
            # listening (GeneratorExit): keep what was trained, once
            self._finish_quietly()
            raise

    def _finish_quietly(self) -> None:
        if not self._finished and self.trainer.started:
            try:
                self._write(self._started, final=True)
            except Exception:        # noqa: BLE001 - the original error is the one to report
                pass
        self._finished = True

    def _train_events(self) -> Iterator[Event]:
        trainer = self.trainer
        started = self._started
        last_stats = last_snapshot_time = started
        last_snapshot_epoch = None
        info = None
        stopped = False
        try:
            while not trainer.done and not self._stop.is_set():
                self._apply_pending()
                if not self._running.is_set():
                    self._running.wait(0.1)
                    continue
                info = trainer.step()
                now = time.monotonic()
                event = Event("epoch", trainer.epoch, trainer.epochs, info.t, info.learnrate)
                if self.image_every and trainer.epoch % self.image_every == 0:
                    event.image = trainer.image().cpu()
                    event.views = {k: v.float().cpu() for k, v in trainer.last_views.items()}
                event.previews = self._previews(trainer.epoch)
                if now - last_stats >= self.stats_interval:
                    last_stats = now
                    event.kind, event.loss, event.stats = "stats", self._loss(), self._summary()
                if self._snapshot_due(info.epoch, last_snapshot_epoch, now - last_snapshot_time):
                    last_snapshot_epoch, last_snapshot_time = info.epoch, now
                    event.path = self._write(started)
                    event.kind = "snapshot" if event.kind == "epoch" else event.kind
                yield event
        except KeyboardInterrupt:
            stopped = True
        stopped = stopped or self._stop.is_set()
        kind = "stopped" if stopped else "done"
        final = Event(kind, trainer.epoch, trainer.epochs, info.t if info else 0.0,
                      trainer.learnrate, self._loss(), self._summary())
        if trainer.started and not self._finished:
            final.path = self._write(started, final=True)
            final.image = trainer.image().cpu()
            final.previews = self._previews(trainer.epoch, final=True)
        self._finished = True      # written once: closing the generator later writes nothing
        out = self.output
        self.result = RunResult(
            trainer.image().cpu() if trainer.started else torch.zeros(1, 3, 1, 1),
            final.stats or [], trainer.epoch - trainer.start_epoch, trainer.seed, stopped,
            out.path if out is not None and out.written else None,
            out.sidecar if out is not None and out.written else None,
            time.monotonic() - started)
        yield final

    def run(self, on_event: Callable[[Event], None] | None = None) -> RunResult:
        for event in self.events():
            if on_event is not None:
                on_event(event)
        return self.result

    # --- helpers ----------------------------------------------------------------------------

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self.graph, program = pending
            self.trainer.update(program)
            self._preview_plans.clear()          # plans belong to the program they came from
            train_id = program.train.id
            if self.graph.nodes[train_id].params.get("seed") is None:
                self.graph.set_param(train_id, "seed", self.trainer.seed)

    def _snapshot_due(self, epoch: int, last_epoch: int | None, seconds: float) -> bool:
        interval = self.trainer.program.train.params["snapshot_interval"]
        if not self.save or not interval:
            return False
        if last_epoch is None:
            return True      # the first epoch, as CLIPig
        if isinstance(interval, int):
            return epoch - last_epoch >= interval
        return seconds >= interval

    def _loss(self) -> float | None:
        summary = self.trainer.stats.loss_summary()
        return summary[0] if summary else None

    def _summary(self) -> list[TargetStats]:
        return self.trainer.stats.summary()

    def _header(self, started: float) -> dict[str, str]:
        trainer = self.trainer
        return run_header(trainer.epoch - trainer.start_epoch, trainer.epochs - trainer.start_epoch,
                          time.monotonic() - started, trainer.seed, str(trainer.device),
                          self.options.model or self.program.train.params["model"],
                          format_table(self._summary()))

    def _write(self, started: float, final: bool = False) -> Path | None:
        if self.output is None or not self.trainer.started:
            return None
        header = self._header(started)
        try:
            return self.output.write(self.trainer.image(), self.graph, header, sidecar=final)
        except OSError as exc:
            where = self.output.path or self.output.wanted
            raise EngineError(f"cannot write {where}: {exc.strerror or exc}") from None


def _drop_refused_output(graph: Graph) -> None:
    """With -o given, a Train `output` that would be refused is unused: reset it to the
    default, so that it neither stops the run nor travels on in the image's graph."""
    from ..output_names import output_problem

    for node in graph:
        if node.type == "train" and output_problem(node.params.get("output")):
            graph.reset_param(node.id, "output")
