"""The training process behind the editor (the child side of gui.runner).

Training runs in its own process, not on a thread of the editor:
- the editor keeps its frame rate however hard the CPU trains (no GIL shared);
- torch never loads into the process that holds the OpenGL context (on Linux,
  loading torch's triton next to Mesa's LLVM-based GL driver crashes the process);
- a crash in training (out of memory, a driver fault) ends the run, not the editor.

Protocol, over two multiprocessing queues, all plain picklable data:
  editor -> worker: ("start", graph_text, options_dict, source), ("stop",), ("pause",),
                    ("resume",), ("update", graph_text), ("quit",),
                    ("preview", node_id, output_name), ("unpreview", node_id, output_name)
                    (show any IMAGE output of the running graph; the graph's preview
                    nodes are always shown)
  worker -> editor: RunMessage objects; a preview comes as kind "preview" with
                    message "node.output" and image (no image: the run has no such output).
Graphs travel as graph-file text (fileformat), images as uint8 RGB arrays.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

VIEW_SIZE = 96            # each view of what CLIP sees, sent at this size
MAX_VIEWS = 8
PREVIEW_SIZE = 384        # the live image is shown at most this large


@dataclass
class FeatureRow:
    label: str
    weight: str
    count: int
    percent: float
    loss: tuple
    sim: tuple


@dataclass
class ConstraintRow:
    label: str
    weight: str
    count: int
    loss: tuple


@dataclass
class TargetRows:
    name: str
    features: list = field(default_factory=list)
    constraints: list = field(default_factory=list)


def plain_stats(stats) -> list[TargetRows] | None:
    """engine.stats.TargetStats -> the same numbers in classes of this module, so that
    unpickling them in the editor does not import the engine (and torch)."""
    if not stats:
        return None
    floats = lambda values: tuple(float(v) for v in values)      # noqa: E731
    return [TargetRows(str(t.name),
                       [FeatureRow(str(f.label), str(f.weight), int(f.count), float(f.percent),
                                   floats(f.loss), floats(f.sim)) for f in t.features],
                       [ConstraintRow(str(c.label), str(c.weight), int(c.count), floats(c.loss))
                        for c in t.constraints])
            for t in stats]


@dataclass
class RunMessage:
    kind: str       # ready | started | epoch | done | stopped | updated | error | update_error
    epoch: int = 0
    epochs: int = 0
    t: float = 0.0
    learnrate: float = 0.0
    loss: float | None = None
    stats: list | None = None              # TargetRows (or a traceback, for errors)
    image: np.ndarray | None = None        # [H, W, 3] uint8, as the PNG would hold it
    preview: np.ndarray | None = None      # the same, at most PREVIEW_SIZE on a side
    views: dict = field(default_factory=dict)    # target name -> [h, w, 3] uint8
    graph: str | None = None               # graph text (started/updated: what the run uses)
    message: str = ""
    time: float = field(default_factory=time.monotonic)


def to_uint8(pixels) -> np.ndarray:
    """[1,3,H,W] / [3,H,W] tensor in [0,1] -> [H,W,3] uint8 (rounded as engine.images.to_pil)."""
    x = pixels.detach()
    if x.dim() == 4:
        x = x[0]
    import torch
    array = (x.float().clamp(0, 1) * 255 + 0.5).floor().to(torch.uint8)
    return array.permute(1, 2, 0).cpu().numpy()


def preview(pixels, size: int = PREVIEW_SIZE):
    """The image scaled down (antialiased) to fit size x size, for the live view."""
    import torch.nn.functional as F

    x = pixels.detach().float()
    if x.dim() == 3:
        x = x[None]
    h, w = x.shape[-2:]
    scale = size / max(h, w)
    if scale >= 1:
        return x
    return F.interpolate(x, size=(max(1, round(h * scale)), max(1, round(w * scale))),
                         mode="bilinear", align_corners=False, antialias=True)


def tile_views(views, size: int = VIEW_SIZE, limit: int = MAX_VIEWS):
    """[B,3,S,S] views -> one row of up to `limit` thumbnails, [3, size, n*size + gaps]."""
    import torch
    import torch.nn.functional as F

    x = views[:limit].detach().float().cpu()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)
    gap = torch.full((x.shape[0], 3, size, 2), 0.12)
    x = torch.cat([x, gap], dim=3)
    return torch.cat(list(x), dim=2)[:, :, :-2]


class Worker:
    def __init__(self, commands, events, image_rate: float = 10.0, stats_interval: float = 0.5):
        self.commands, self.events = commands, events
        self.image_rate, self.stats_interval = image_rate, stats_interval
        self.local: queue.Queue = queue.Queue()      # start / quit, for the main thread
        self.run = None
        self.stop_requested = threading.Event()
        self.lock = threading.Lock()

    def put(self, message: RunMessage) -> None:
        self.events.put(message)

    # --- the listener thread: control of the current run --------------------------------------

    def listen(self) -> None:
        while True:
            try:
                command = self.commands.get()
            except (EOFError, OSError):
                command = ("quit",)
            kind = command[0]
            if kind in ("start", "quit"):
                if kind == "quit":
                    self.stop_requested.set()
                    with self.lock:
                        if self.run is not None:
                            self.run.stop()
                self.local.put(command)
                if kind == "quit":
                    return
                continue
            with self.lock:
                run = self.run
            if kind == "stop":
                self.stop_requested.set()
                if run is not None:
                    run.stop()
            elif run is None:
                continue
            elif kind == "pause":
                run.pause()
            elif kind == "resume":
                run.resume()
            elif kind == "update":
                self._update(run, command[1])
            elif kind == "preview":
                try:
                    run.request_preview(command[1], command[2])
                except KeyError:          # answered as a preview without an image
                    self.put(RunMessage("preview", message=f"{command[1]}.{command[2]}"))
            elif kind == "unpreview":
                run.cancel_preview(command[1], command[2])

    def _update(self, run, text: str) -> None:
        from ..graph.fileformat import loads_graph
        from ..problems import ProblemsError

        try:
            run.update(loads_graph(text, source="editor"))
        except ProblemsError as exc:
            self.put(RunMessage("update_error", message="; ".join(str(p) for p in exc.problems)))
        except Exception as exc:      # noqa: BLE001 - reported, never a dead listener
            self.put(RunMessage("update_error", message=f"{type(exc).__name__}: {exc}"))

    # --- the main thread: training ------------------------------------------------------------

    def serve(self) -> None:
        threading.Thread(target=self.listen, name="clipig-nodes-listener", daemon=True).start()
        try:
            import torch   # noqa: F401  (loaded now, so that Start is quick)
            from .. import engine  # noqa: F401
        except Exception as exc:
            self.put(RunMessage("error", message=f"cannot load the engine: {exc}"))
        self.put(RunMessage("ready", message=f"pid {os.getpid()}"))
        while True:
            command = self.local.get()
            if command[0] == "quit":
                return
            _, text, options, source = command
            self.stop_requested.clear()
            self.train(text, options, source)

    def train(self, text: str, options: dict, source) -> None:
        try:
            from ..engine import EngineError, Run, RunOptions
            from ..graph.fileformat import dumps_graph, loads_graph
            from ..problems import ProblemsError
        except Exception as exc:
            self.put(RunMessage("error", message=f"cannot load the engine: {exc}"))
            return
        try:
            graph = loads_graph(text, source="editor")
            run = Run(graph, RunOptions(**options), source=source, save=False, image_every=1,
                      stats_interval=self.stats_interval, previews=True)
        except ProblemsError as exc:
            self.put(RunMessage("error", message="; ".join(str(p) for p in exc.problems)))
            return
        except EngineError as exc:
            self.put(RunMessage("error", message=str(exc)))
            return
        except Exception as exc:
            self.put(RunMessage("error", message=f"{type(exc).__name__}: {exc}",
                                stats=[traceback.format_exc()]))
            return
        with self.lock:
            self.run = run
        if self.stop_requested.is_set():
            run.stop()
        trainer = run.trainer
        applied = run.graph
        self.put(RunMessage("started", trainer.epoch, trainer.epochs, graph=dumps_graph(run.graph),
                            message=f"training on {trainer.device}, seed {trainer.seed}"))
        last_image = last_preview = 0.0
        try:
            for event in run.events():
                if run.graph is not applied:           # an update was taken before this epoch
                    applied = run.graph
                    self.put(RunMessage("updated", event.epoch, event.epochs,
                                        graph=dumps_graph(applied)))
                final = event.kind in ("done", "stopped")
                message = RunMessage(event.kind if final else "epoch", event.epoch, event.epochs,
                                     float(event.t), float(event.learnrate),
                                     None if event.loss is None else float(event.loss),
                                     plain_stats(event.stats))
                now = time.monotonic()
                if event.image is not None and (final or now - last_image >= 1.0 / self.image_rate):
                    last_image = now
                    message.image = to_uint8(event.image)
                    message.preview = to_uint8(preview(event.image))
                    message.views = self._views(run, event.views or trainer.last_views or {})
                self.put(message)
                if event.previews and (final or now - last_preview >= 1.0 / self.image_rate):
                    last_preview = now
                    for name, image in event.previews.items():
                        self.put(RunMessage("preview", event.epoch, event.epochs,
                                            image=to_uint8(preview(image)), message=name))
        except Exception as exc:
            self.put(RunMessage("error", message=f"training stopped: {type(exc).__name__}: {exc}",
                                stats=[traceback.format_exc()]))
        finally:
            with self.lock:
                self.run = None

    @staticmethod
    def _views(run, views: dict) -> dict:
        names = {}
        for target in run.trainer.program.targets:
            try:
                names[target.id] = target.stage.params["name"]
            except Exception:        # noqa: BLE001 - a name is a nicety
                names[target.id] = target.id
        out = {}
        for target_id, batch in views.items():
            try:
                out[names.get(target_id, target_id)] = to_uint8(tile_views(batch))
            except Exception:        # noqa: BLE001
                continue
        return out


def main(commands, events, threads: int | None = None, nice: int = 5, lifeline=None) -> None:
    """Entry point of the training process. It runs at a slightly lower priority, so that
    when the CPU is contended the editor's frames come first (training takes the rest).
    `lifeline` (the child end of a clipig_nodes.lifeline.Lifeline) ends this process when
    the editor dies."""
    if lifeline is not None:
        from ..lifeline import watch_parent
        watch_parent(lifeline)
    if nice and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:
            pass
    if threads:
        try:
            import torch
            torch.set_num_threads(threads)
        except Exception:        # noqa: BLE001
            pass
    Worker(commands, events).serve()
