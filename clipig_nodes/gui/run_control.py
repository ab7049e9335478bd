"""Run control: start, stop, pause, update the training, its messages, saving its image.

A mixin of App; the training itself runs in the worker process (gui.runner).
"""

from __future__ import annotations

from pathlib import Path

from ..output_names import output_path
from ..problems import ProblemsError
from .runner import FINISHED, LOADING, RUNNING


class RunControl:
    # --- running ----------------------------------------------------------------------------

    def options(self) -> dict:
        """RunOptions fields for the training process (model/device from the command line)."""
        options = {k: v for k, v in self.run_options.items() if v is not None}
        base = self.document.base_dir
        if base is not None:
            options["base_dir"] = str(base)
        return options

    def start_run(self) -> bool:
        if self.runner.busy:
            self.status("a run is going: Stop it first, or Update it with your edits")
            return False
        errors = [p for p in self.revalidate() if p.is_error]
        if errors:
            first = errors[0]
            if first.node:
                self.editor.focus(first.node)
            self.status(f"cannot start: {len(errors)} error" + ("s" if len(errors) > 1 else "")
                        + f" (see Problems); first: {first}", error=True)
            return False
        self.run_panel.clear_views()
        self.run_panel.set_step("starting the training process (torch loads once)"
                                if not self.runner.alive else
                                "compiling the graph, loading CLIP, encoding the features")
        self.runner.start(self.history.graph, self.options(), self.document.path
                          or self.document.origin)
        self.run_revision = self.history.revision
        self.run_panel.set_state(LOADING)
        self.status("starting: compiling the graph and loading CLIP ...")
        return True

    def stop_run(self) -> None:
        if self.runner.busy:
            self.runner.stop()
            self.status("stopping after this epoch ...")

    def toggle_pause(self) -> None:
        if self.runner.state != RUNNING:
            return
        if self.runner.paused:
            self.runner.resume()
            self.status("resumed")
        else:
            self.runner.pause()
            self.status("paused")
        self.run_panel.set_state(RUNNING, paused=self.runner.paused)

    def update_run(self) -> bool:
        if self.runner.state != RUNNING:
            self.status("no training is running: Start it")
            return False
        errors = [p for p in self.revalidate() if p.is_error]
        if errors:
            self.status(f"not updated: {errors[0]}", error=True)
            return False
        try:
            self.runner.update(self.history.graph)
        except RuntimeError as exc:
            self.status(str(exc), error=True)
            return False
        self.run_revision = self.history.revision
        self.run_panel.set_edits_pending(False)
        self.status("update sent: the training takes it before its next epoch")
        return True

    def request_preview(self, node_id: str, output: str) -> bool:
        """The node menu's "Preview output": ask the running training for that output's image
        (shown in the preview window when it comes)."""
        if self.runner.state != RUNNING:
            self.status("previews come from the running training: Start it (F5), then ask again")
            return False
        shown = self.preview_window.key
        if shown and shown != f"{node_id}.{output}":
            self.runner.cancel_preview(*shown.rsplit(".", 1))     # one requested preview at a time
        self.runner.request_preview(node_id, output)
        self.preview_window.waiting(f"{node_id}.{output}")
        self.status(f"preview of {node_id}.{output} asked for")
        return True

    def _run_message(self, message) -> None:
        if message.kind == "ready" and self.run_panel.step is not None:
            self.run_panel.set_step("compiling the graph, loading CLIP, encoding the features")
        elif message.kind == "startup":            # a finer step, when the worker tells one
            self.run_panel.set_step(message.message)
        elif message.kind == "started":
            self.run_panel.set_step("first epoch ...")
        elif message.kind in ("epoch", "done", "stopped", "error"):
            self.run_panel.set_step(None)
        if message.kind == "preview":
            if message.image is not None:
                # the window follows the output asked for (or the first preview node's)
                if self.preview_window.key in (None, message.message):
                    self.preview_window.show(message.message, message.image)
            else:
                # the menu offers IMAGE outputs only: the node is not in the graph being trained
                self.status(f"no preview of {message.message}: the running training has no such "
                            "node (Update sends the edits)", error=True)
        elif message.kind == "started":
            self.run_panel.set_state(RUNNING)
            self.status(message.message)
        elif message.kind == "updated":
            self.status(f"update applied: training goes on from epoch {message.epoch} with the "
                        "edited graph")
        elif message.kind == "update_error":
            self.status(f"not updated: {message.message}", error=True)
        elif message.kind == "error":
            self.run_panel.set_state(FINISHED)
            self.status(f"run failed: {message.message}", error=True)
        elif message.kind in ("done", "stopped"):
            self.run_panel.set_state(FINISHED)
            word = "finished" if message.kind == "done" else "stopped"
            self.status(f"training {word} at epoch {message.epoch}: Ctrl+S saves the image")

    def save_image(self, chosen=None):
        """Ctrl+S: the image as PNG with its graph, next to the graph file (or where the
        Train node's output says). An untitled graph asks where; never over a file."""
        pixels = self.run_panel.pixels
        if pixels is None:
            self.status("no image yet: Start a run first (Ctrl+Shift+S saves the graph)")
            return None
        from PIL import Image

        from ..graph.pngmeta import save_png_new

        graph = (self.runner.graph or self.history.graph).copy()      # what made the image
        # where it goes is the editor's Train output (a place, not part of the image's recipe)
        train = next((n for n in self.history.graph if n.type == "train"), None)
        output = train.params.get("output") if train is not None else None
        source = self.document.path or self.document.origin
        ask = None
        if chosen is not None:
            wanted = Path(chosen).with_suffix(".png")
        elif source is None:
            ask = "where should the image go? (the graph has no file yet)"
        else:
            # a graph's own output may only name a place beside it (as `run` without -o)
            try:
                wanted = output_path(output if isinstance(output, str) else None, source,
                                     from_graph=True)
            except ValueError as exc:
                ask = f"{exc}: choose where the image goes"
            else:
                if self.document.path is not None:
                    wanted = self.document.path.parent / wanted
        if ask is not None:
            self.dialogs.choose_file("Save image (PNG with the graph inside)",
                                     lambda paths: self.save_image(paths[0]), save=True,
                                     extensions=[(".png", "PNG image")],
                                     default_path=Path.cwd() / "clipig-nodes.png")
            self.status(ask, error=chosen is None and source is not None)
            return None
        try:
            wanted.parent.mkdir(parents=True, exist_ok=True)
            path = save_png_new(Image.fromarray(pixels, "RGB"), wanted, graph)
        except (OSError, ProblemsError, ValueError) as exc:
            self.status(f"cannot save the image: {exc}", error=True)
            return None
        self.status(f"saved image {path} (with the graph inside: open it to get the graph back)")
        return path

