"""Training off the UI thread: an engine.Run on a worker thread, its events in a queue.

The worker builds the Run (compiling the graph, loading CLIP), iterates its
events and puts plain `RunMessage`s into a queue, with the image and the views
already converted to the flat RGBA float arrays Dear PyGui textures take (at
most `image_rate` per second, and always the last one). The UI thread drains the
queue once per frame. The worker never touches Dear PyGui; the UI thread never
waits for the worker (stop/pause/update are the engine's thread-safe calls).

Torch is imported by the worker, when a run starts.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..graph.model import Graph

IDLE, LOADING, RUNNING, FINISHED = "idle", "loading", "running", "finished"
VIEW_SIZE = 96            # each view of what CLIP sees, shown at this size
MAX_VIEWS = 8


@dataclass
class RunMessage:
    kind: str                      # started | epoch | done | stopped | error
    epoch: int = 0
    epochs: int = 0
    t: float = 0.0
    learnrate: float = 0.0
    loss: float | None = None
    stats: list | None = None
    image: tuple | None = None     # (width, height, flat RGBA float32)
    pixels: object | None = None   # the [1,3,H,W] CPU tensor the image shows (for Save image)
    views: dict = field(default_factory=dict)     # target name -> (width, height, flat RGBA)
    message: str = ""
    time: float = field(default_factory=time.monotonic)


def rgba(pixels) -> tuple[int, int, np.ndarray]:
    """[1,3,H,W] or [3,H,W] tensor in [0,1] -> (W, H, flat RGBA float32)."""
    x = pixels.detach()
    if x.dim() == 4:
        x = x[0]
    array = x.float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    h, w = array.shape[:2]
    out = np.ones((h, w, 4), dtype=np.float32)
    out[..., :3] = array
    return w, h, out.ravel()


def tile_views(views, size: int = VIEW_SIZE, limit: int = MAX_VIEWS):
    """[B,3,S,S] views -> one row of up to `limit` thumbnails (a [3,size,size*n] tensor)."""
    import torch
    import torch.nn.functional as F

    x = views[:limit].float()
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)
    gap = torch.full((x.shape[0], 3, size, 2), 0.12)
    x = torch.cat([x, gap], dim=3)
    return torch.cat(list(x), dim=2)[:, :, :-2]


class Runner:
    def __init__(self, image_rate: float = 15.0, stats_interval: float = 0.5):
        self.queue: queue.Queue[RunMessage] = queue.Queue()
        self.image_rate = image_rate
        self.stats_interval = stats_interval
        self.thread: threading.Thread | None = None
        self.run = None                 # the engine.Run, once built
        self.state = IDLE
        self.graph: Graph | None = None     # the graph the run started with (or was updated to)
        self._stop = threading.Event()

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    # --- control (UI thread) ----------------------------------------------------------------

    def start(self, graph: Graph, options=None, source: Path | None = None) -> None:
        if self.busy:
            raise RuntimeError("a run is already going")
        self.queue = queue.Queue()
        self._stop.clear()
        self.run = None
        self.graph = graph.copy()
        self.state = LOADING
        self.thread = threading.Thread(target=self._work, args=(self.graph, options, source),
                                       name="clipig-nodes-run", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.run is not None:
            self.run.stop()

    def pause(self) -> None:
        if self.run is not None:
            self.run.pause()

    def resume(self) -> None:
        if self.run is not None:
            self.run.resume()

    @property
    def paused(self) -> bool:
        return self.run is not None and self.run.paused

    def update(self, graph: Graph) -> None:
        """Apply an edited graph between epochs; ProblemsError when it cannot compile,
        RuntimeError when nothing runs."""
        if self.run is None or not self.busy:
            raise RuntimeError("no run to update")
        self.run.update(graph)
        self.graph = graph.copy()

    def drain(self, limit: int = 1000) -> list[RunMessage]:
        messages = []
        while len(messages) < limit:
            try:
                messages.append(self.queue.get_nowait())
            except queue.Empty:
                break
        for message in messages:
            if message.kind == "started":
                self.state = RUNNING
            elif message.kind in ("done", "stopped", "error"):
                self.state = FINISHED
        return messages

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop()
        self.join(timeout)

    # --- the worker thread ------------------------------------------------------------------

    def _put(self, message: RunMessage) -> None:
        self.queue.put(message)

    def _work(self, graph: Graph, options, source) -> None:
        try:
            from ..engine import EngineError, Run
            from ..problems import ProblemsError
        except Exception as exc:           # torch missing or broken: say so, do not crash
            self._put(RunMessage("error", message=f"cannot load the engine: {exc}"))
            return
        try:
            run = Run(graph, options, source=source, save=False, image_every=1,
                      stats_interval=self.stats_interval)
        except ProblemsError as exc:
            self._put(RunMessage("error", message="; ".join(str(p) for p in exc.problems)))
            return
        except EngineError as exc:
            self._put(RunMessage("error", message=str(exc)))
            return
        except Exception as exc:
            self._put(RunMessage("error", message=f"{type(exc).__name__}: {exc}",
                                 stats=[traceback.format_exc()]))
            return
        self.run = run
        if self._stop.is_set():
            run.stop()
        trainer = run.trainer
        self._put(RunMessage("started", trainer.start_epoch, trainer.epochs,
                             message=f"training on {trainer.device}, seed {trainer.seed}"))
        last_image = 0.0
        try:
            for event in run.events():
                final = event.kind in ("done", "stopped")
                message = RunMessage(event.kind if final else "epoch", event.epoch, event.epochs,
                                     event.t, event.learnrate, event.loss, event.stats)
                now = time.monotonic()
                if event.image is not None and (final or now - last_image >= 1.0 / self.image_rate):
                    last_image = now
                    message.pixels = event.image
                    message.image = rgba(event.image)
                    views = event.views or getattr(run.trainer, "last_views", {}) or {}
                    message.views = self._views(run, views)
                self._put(message)
        except Exception as exc:
            self._put(RunMessage("error", message=f"training stopped: {type(exc).__name__}: {exc}",
                                 stats=[traceback.format_exc()]))

    @staticmethod
    def _views(run, views: dict) -> dict:
        out = {}
        names = {}
        for target in getattr(run.trainer, "targets", []):
            try:
                names[target.id] = target.plan.stage.params["name"]
            except Exception:
                names[target.id] = target.id
        for target_id, batch in views.items():
            try:
                out[names.get(target_id, target_id)] = rgba(tile_views(batch.detach().cpu()))
            except Exception:
                continue
        return out
