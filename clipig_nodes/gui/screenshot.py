"""`gui --screenshot OUT.png` and `gui --bench-fps`: the editor driven by a script.

The screenshot mode opens a file, optionally trains a few epochs (the window
then shows a running graph: live image, loss, statistics, views), renders and
saves the frame buffer to a new file. The benchmark builds a 50-node graph,
starts training it and counts rendered frames per second while it trains.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from ..graph.layout import auto_layout
from ..graph.model import Graph
from ..graph.pngmeta import reserve_path


def _app(path, run_options, size, max_fps=60.0, **kw):
    from .app import App

    state = tempfile.mkdtemp(prefix="clipig-nodes-gui-")
    return App(path, run_options=run_options, width=size[0], height=size[1],
               offer_recovery=False, state_dir=state, vsync=False, max_fps=max_fps, **kw)


def wait_for(app, condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.frame()
        if condition():
            return True
    return False


def take_screenshot(out, path=None, *, run_epochs: int = 0, run_options=None,
                    size=(1600, 960), timeout: float = 300.0, zoom: float | None = None,
                    search: str | None = None) -> int:
    """The window as a PNG: the graph fitted (Home), or at `zoom` about the canvas's
    centre; `search` opens the canvas search there with that text typed."""
    app = _app(path, run_options or {}, size, warm_up=bool(run_epochs))
    try:
        app.pump(6)
        app.editor.frame_all()
        app.pump(8)
        if zoom is not None:
            app.editor.set_zoom(zoom)
            app.pump(4)
        if search is not None:
            import dearpygui.dearpygui as dpg

            (ox, oy), (w, h) = app.editor.editor_rect()
            app._search_pos = app.editor.screen_to_model((ox + w * 0.3, oy + h * 0.55))
            app._search_selected = []
            app.search.open((ox + w * 0.3, oy + h * 0.55))
            dpg.set_value(app.search.input, search)
            app.search.filter(search)
            app.pump(4)
        if run_epochs:
            if not app.start_run():
                print(f"clipig-nodes gui: cannot run: {app.status_text}", file=sys.stderr)
                return 1
            ok = wait_for(app, lambda: app.run_panel.epoch >= run_epochs
                          or app.runner.state == "finished", timeout)
            if app.runner.state == "finished" and app.run_panel.pixels is None:
                print(f"clipig-nodes gui: {app.status_text}", file=sys.stderr)
                return 1
            if not ok:
                print(f"clipig-nodes gui: {run_epochs} epochs did not finish in {timeout:.0f} s",
                      file=sys.stderr)
                return 1
            wait_for(app, lambda: app.run_panel.last_stats is not None, 5.0)
            app.status(f"training: epoch {app.run_panel.epoch} of {app.run_panel.epochs}")
        app.pump(4)
        target = reserve_path(Path(out))
        app.screenshot(target)
        print(target)
        return 0
    finally:
        app.close()


# --- frames per second while training ------------------------------------------------------------

def bench_graph(nodes: int = 50, resolution: int = 512) -> Graph:
    """A graph of `nodes` nodes: targets with 4-transform chains, features, constraints."""
    g = Graph(f"{nodes}-node benchmark")
    g.add_node("pixels", params={"resolution": [resolution, resolution]})
    g.add_node("train", params={"epochs": 100000, "learnrate": 1.0})
    words = ["strawberries", "a lighthouse", "a stormy sea", "a glass forest", "a brass compass",
             "a tiled mosaic", "a city map", "a watercolor", "fruit", "clouds"]
    index = 0
    targets = []
    while len(g) + 7 <= nodes:
        t = f"target_{index}"
        chain = [g.add_node(kind).id for kind in ("random_shift", "random_rotate",
                                                  "random_scale", "center_crop")]
        g.nodes[chain[0]].params["range"] = [-0.3, 0.3]
        g.nodes[chain[1]].params["degree"] = [-10, 10]
        g.nodes[chain[2]].params["range"] = [0.7, 1.0]
        g.nodes[chain[3]].params["size"] = [224, 224]
        g.add_node("target", t, params={"name": t, "batch_size": 2})
        for a, b in zip(["pixels", *chain], [*chain, t]):
            g.connect(a, "image", b, "image")
        feature = g.add_node("text_feature", params={"text": words[index % len(words)]}).id
        g.connect(feature, "feature", t, "features")
        constraint = g.add_node("blur_constraint").id
        g.connect(constraint, "constraint", t, "constraints")
        g.connect(t, "target", "train", "targets")
        targets.append(t)
        index += 1
    while len(g) < nodes and targets:
        t = targets[len(g) % len(targets)]
        feature = g.add_node("text_feature", params={"text": words[len(g) % len(words)]}).id
        g.connect(feature, "feature", t, "features")
    auto_layout(g)
    return g


def bench_fps(nodes: int = 50, seconds: float = 10.0, run_options=None, size=(1600, 960)) -> int:
    from ..graph.fileformat import save_graph

    folder = tempfile.mkdtemp(prefix="clipig-nodes-bench-")
    path = Path(folder) / "bench.graph.yaml"
    save_graph(bench_graph(nodes), path)
    app = _app(path, run_options or {}, size, max_fps=None)     # frames as fast as they go
    try:
        app.pump(10)
        cores = os.cpu_count()
        print(f"{len(app.history.graph)}-node graph, {size[0]}x{size[1]} window, "
              f"{cores} CPU cores")
        for zoom in (1.0, 0.5):
            app.editor.set_zoom(zoom)
            app.pump(5)
            print(f"idle at {zoom:.0%} zoom: {_count_frames(app, min(3.0, seconds / 3)):.1f} "
                  "frames/s", flush=True)
        app.editor.frame_all()
        app.pump(5)
        idle = _count_frames(app, min(3.0, seconds / 3))
        if not app.start_run():
            print(f"clipig-nodes gui: cannot run: {app.status_text}", file=sys.stderr)
            return 1
        if not wait_for(app, lambda: app.run_panel.epoch >= 2 or app.runner.state == "finished",
                        600):
            print("clipig-nodes gui: the run did not start", file=sys.stderr)
            return 1
        if app.runner.state == "finished":
            print(f"clipig-nodes gui: {app.status_text}", file=sys.stderr)
            return 1
        first_epoch = app.run_panel.epoch
        started = time.monotonic()
        training = _count_frames(app, seconds)
        epochs = (app.run_panel.epoch - first_epoch) / (time.monotonic() - started)
        print(f"fitted ({app.editor.zoom:.0%}), {app.runner.started}")
        print(f"idle:     {idle:.1f} frames/s")
        print(f"training: {training:.1f} frames/s while the run made {epochs:.2f} epochs/s")
        return 0
    finally:
        app.close()


def _count_frames(app, seconds: float) -> float:
    frames, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        app.frame()
        frames += 1
    return frames / (time.monotonic() - start)
