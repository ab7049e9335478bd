"""The run panel: Start / Stop / Update / Pause, progress, epochs per second, the live
image, the loss over epochs, the per-target statistics and, for each target, the
batch of views CLIP saw. It renders RunMessages; it starts nothing itself."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg

from ..video import Recording
from .runner import RunMessage, rgba

IMAGE_WIDTH = 372
SPINNER = "|/-\\"
SIM_HELP = ("Per feature: sim is the cosine similarity between CLIP's embedding of the views "
            "and the feature's embedding, times 100 (about -10 to 40 in practice; higher is "
            "closer to the prompt or image). loss is the feature's loss, used the share of "
            "the views it was applied to (target select: best/worst/mix). Means over the last "
            "epochs.")


class RunPanel:
    def __init__(self, parent, themes, on_start: Callable, on_stop: Callable,
                 on_update: Callable, on_pause: Callable, on_save_image: Callable, mono_font=None):
        self.themes = themes
        self.textures = dpg.add_texture_registry()
        self.image_texture = None
        self.image_item = None
        self.image_size = (0, 0)
        self.image_version = 0         # bumps whenever the live image changes (tests, fps)
        self.view_items: dict[str, tuple[int, int, tuple[int, int]]] = {}
        self.losses_x: list[float] = []
        self.losses_y: list[float] = []
        self.times: deque = deque(maxlen=120)   # (time, epoch) for epochs/s
        self.state = "idle"
        self.epoch = self.epochs = 0
        self.last_stats = None
        self.pixels = None
        self.mono_font = mono_font
        self._step_since = time.monotonic()       # when the shown start-up step began
        self.recording = Recording(Path.cwd())      # the Record toggle (a video per run)
        with dpg.group(parent=parent) as self.group:
            dpg.add_text("Run", color=(170, 175, 190))
            with dpg.group(horizontal=True):
                self.start_button = dpg.add_button(label="Start", width=70, callback=on_start)
                self.stop_button = dpg.add_button(label="Stop", width=60, callback=on_stop,
                                                  enabled=False)
                self.update_button = dpg.add_button(label="Update", width=70, callback=on_update,
                                                    enabled=False)
                self.pause_button = dpg.add_button(label="Pause", width=64, callback=on_pause,
                                                   enabled=False)
                self.save_button = dpg.add_button(label="Save image", callback=on_save_image,
                                                  enabled=False)
                self.record_box = dpg.add_checkbox(
                    label="Record", callback=lambda _s, value: self._note(
                        self.recording.set_wanted(value)))
            if themes is not None:
                dpg.bind_item_theme(self.start_button, themes.run_button)
                dpg.bind_item_theme(self.stop_button, themes.stop_button)
                dpg.bind_item_theme(self.update_button, themes.update_button)
            for button, text in ((self.start_button, "train the graph (F5)"),
                                 (self.stop_button, "stop the training (Shift+F5)"),
                                 (self.update_button, "apply the edits made since Start to the "
                                                      "running training (F6): param changes "
                                                      "between epochs, new or removed nodes "
                                                      "recompile and go on from the current pixels"),
                                 (self.pause_button, "pause or resume the training"),
                                 (self.save_button, "save the image as PNG with the graph "
                                                    "embedded, never over an existing file "
                                                    "(Ctrl+S)"),
                                 (self.record_box, "write the run as a video, clipig-run.mp4 "
                                                   "(or -1, -2, ...: never over a file) in the "
                                                   "folder the editor started in")):
                with dpg.tooltip(button):
                    dpg.add_text(text, wrap=300)
            self.progress = dpg.add_progress_bar(default_value=0.0, width=-1, overlay="not running")
            self.step_text = dpg.add_text("", color=(120, 190, 255), show=False)
            self.step: str | None = None        # the start-up step shown with a spinner
            self.info = dpg.add_text("", color=(190, 192, 200))
            self.edits = dpg.add_text("", color=(235, 175, 60), show=False)
            self.record_note = dpg.add_text("", color=(150, 200, 235), show=False)
            self.image_group = dpg.add_group()
            self.placeholder = dpg.add_text("The image appears here while training runs.",
                                            parent=self.image_group, color=(120, 122, 132))
            with dpg.collapsing_header(label="Loss", default_open=True):
                with dpg.plot(height=150, width=-1, no_menus=True, no_box_select=True,
                              no_mouse_pos=True) as self.plot:
                    self.x_axis = dpg.add_plot_axis(dpg.mvXAxis, label="epoch", no_gridlines=True)
                    self.y_axis = dpg.add_plot_axis(dpg.mvYAxis, no_gridlines=False)
                    self.loss_series = dpg.add_line_series([], [], parent=self.y_axis,
                                                           label="loss")
            with dpg.collapsing_header(label="Statistics", default_open=True):
                legend = dpg.add_text("sim: cosine similarity x 100  (hover for more)",
                                      color=(120, 122, 132))
                with dpg.tooltip(legend):
                    dpg.add_text(SIM_HELP, wrap=340)
                self.stats_group = dpg.add_group()
                self.stats_empty = dpg.add_text("(every half second while training)",
                                                parent=self.stats_group, color=(120, 122, 132))
                self.stats_table = None
                self.stats_cells: list = []
                self.stats_kinds: list = []
            with dpg.collapsing_header(label="What CLIP sees", default_open=True):
                self.views_group = dpg.add_group()
                self.views_empty = dpg.add_text("each target's batch of views, as CLIP gets them",
                                                parent=self.views_group, color=(120, 122, 132),
                                                wrap=IMAGE_WIDTH)

    # --- state --------------------------------------------------------------------------------

    def set_state(self, state: str, paused: bool = False) -> None:
        """idle | loading | running | finished."""
        self.state = state
        running = state in ("loading", "running")
        dpg.configure_item(self.start_button, enabled=not running)
        dpg.configure_item(self.stop_button, enabled=running)
        dpg.configure_item(self.pause_button, enabled=state == "running",
                           label="Resume" if paused else "Pause")
        dpg.configure_item(self.save_button, enabled=self.pixels is not None)
        if state == "loading":
            dpg.configure_item(self.progress, overlay="compiling the graph, loading CLIP ...")
        if state != "running":
            self.set_edits_pending(False)

    def set_step(self, step: str | None) -> None:
        """Show what the start-up is doing (None: done)."""
        if step != self.step:
            self._step_since = time.monotonic()
        self.step = step
        dpg.configure_item(self.step_text, show=step is not None)
        self.spin()

    def spin(self) -> None:
        """Per frame while starting: the step with a turning spinner and the seconds so far."""
        if self.step is None:
            return
        seconds = time.monotonic() - self._step_since
        dpg.set_value(self.step_text, f"{SPINNER[int(seconds * 8) % 4]}  {self.step}  "
                                      f"({seconds:.0f} s)")

    def set_edits_pending(self, pending: bool) -> None:
        enabled = pending and self.state == "running"
        dpg.configure_item(self.update_button, enabled=enabled)
        dpg.configure_item(self.edits, show=enabled)
        if enabled:
            dpg.set_value(self.edits, "edited since Start: Update applies the changes")

    def reset(self) -> None:
        self.losses_x, self.losses_y = [], []
        dpg.set_value(self.loss_series, [[], []])
        self.times.clear()
        self.epoch = self.epochs = 0
        dpg.set_value(self.progress, 0.0)
        dpg.set_value(self.info, "")

    # --- messages -----------------------------------------------------------------------------

    def apply(self, messages: list[RunMessage]) -> None:
        latest_image = None
        for message in messages:
            self._note(self.recording.feed(message.kind, message.image))
            if message.kind == "started":
                self.reset()
                self.epochs = message.epochs
                dpg.set_value(self.info, message.message)
            elif message.kind in ("epoch", "done", "stopped"):
                self.epoch, self.epochs = message.epoch, message.epochs
                self.times.append((message.time, message.epoch))
                if message.loss is not None:
                    self.losses_x.append(float(message.epoch))
                    self.losses_y.append(float(message.loss))
                if message.stats:
                    self.last_stats = message.stats
                if message.image is not None:
                    latest_image = message
            if message.kind in ("done", "stopped"):
                word = "finished" if message.kind == "done" else "stopped"
                dpg.configure_item(self.progress, overlay=f"{word} at epoch {message.epoch} / "
                                                          f"{message.epochs}")
        if not messages:
            return
        if latest_image is not None:
            self._show_image(latest_image)
        last = messages[-1]
        if last.kind in ("epoch", "done", "stopped"):
            fraction = last.epoch / max(1, last.epochs)
            dpg.set_value(self.progress, min(1.0, fraction))
            if last.kind == "epoch":
                dpg.configure_item(self.progress, overlay=f"epoch {last.epoch} / {last.epochs}")
            loss = f"   loss {self.losses_y[-1]:.4f}" if self.losses_y else ""
            dpg.set_value(self.info, f"{self.epochs_per_second():.1f} epochs/s{loss}   "
                                     f"lr {last.learnrate:.4g}   t {last.t:.2f}")
        if any(m.loss is not None for m in messages):
            dpg.set_value(self.loss_series, [self.losses_x, self.losses_y])
            dpg.fit_axis_data(self.x_axis)
            dpg.fit_axis_data(self.y_axis)
        if any(m.stats for m in messages):
            self._show_stats(self.last_stats)

    def _note(self, text: str | None) -> None:
        """Recording news (started, finished, failed) goes under the image."""
        if text:
            dpg.configure_item(self.record_note, show=True)
            dpg.set_value(self.record_note, text)

    def epochs_per_second(self) -> float:
        if len(self.times) < 2:
            return 0.0
        (t0, e0), (t1, e1) = self.times[0], self.times[-1]
        return (e1 - e0) / (t1 - t0) if t1 > t0 else 0.0

    def _show_image(self, message: RunMessage) -> None:
        width, height, data = rgba(message.preview if message.preview is not None
                                   else message.image)
        if (width, height) != self.image_size:
            if self.image_item is not None:
                dpg.delete_item(self.image_item)
                dpg.delete_item(self.image_texture)
            dpg.configure_item(self.placeholder, show=False)
            self.image_texture = dpg.add_dynamic_texture(width, height, data, parent=self.textures)
            scale = min(IMAGE_WIDTH / width, 420 / height)
            self.image_item = dpg.add_image(self.image_texture, parent=self.image_group,
                                            width=int(width * scale), height=int(height * scale))
            self.image_size = (width, height)
        else:
            dpg.set_value(self.image_texture, data)
        self.pixels = message.image
        self.image_version += 1
        dpg.configure_item(self.save_button, enabled=True)
        for name, views in message.views.items():
            self._show_views(name, *rgba(views))

    def _show_views(self, name: str, width: int, height: int, data) -> None:
        entry = self.view_items.get(name)
        if entry is not None and entry[2] != (width, height):
            dpg.delete_item(entry[0])
            dpg.delete_item(entry[1])
            entry = None
        if entry is None:
            dpg.configure_item(self.views_empty, show=False)
            texture = dpg.add_dynamic_texture(width, height, data, parent=self.textures)
            with dpg.group(parent=self.views_group) as group:
                dpg.add_text(name, color=(80, 215, 140))
                scale = min(1.0, IMAGE_WIDTH / width)
                dpg.add_image(texture, width=int(width * scale), height=int(height * scale))
            self.view_items[name] = (group, texture, (width, height))
        else:
            dpg.set_value(entry[1], data)

    def _show_stats(self, stats) -> None:
        """Per target: each feature's weight, share of the views it was used on, loss and
        similarity (means over the last epochs), then each constraint's loss. The table is
        made once; its cells are rewritten (rows are remade only when the graph changed)."""
        rows = []
        for target in stats:
            rows.append(((target.name, "", "", "", ""), "target"))
            for f in target.features:
                rows.append(((_short(f.label), f.weight, f"{f.percent:.0f}%", f"{f.loss[0]:.3f}",
                              f"{f.sim[0]:.3f}"), "feature"))
            for c in target.constraints:
                rows.append(((_short(c.label), c.weight, "", f"{c.loss[0]:.3f}", ""), "constraint"))
        if self.stats_table is None:
            dpg.configure_item(self.stats_empty, show=False)
            with dpg.table(parent=self.stats_group, header_row=True, row_background=True,
                           policy=dpg.mvTable_SizingFixedFit, borders_innerV=False) as table:
                for label, width in (("target / feature", 150), ("weight", 44), ("used", 40),
                                     ("loss", 48), ("sim", 48)):
                    dpg.add_table_column(label=label, width_fixed=True,
                                         init_width_or_weight=width)
            if self.mono_font is not None:
                dpg.bind_item_font(table, self.mono_font)
            self.stats_table, self.stats_cells, self.stats_kinds = table, [], []
        if [kind for _, kind in rows] != self.stats_kinds:
            for row in dpg.get_item_children(self.stats_table, 1) or []:
                dpg.delete_item(row)
            self.stats_cells = []
            colours = {"target": (80, 215, 140), "constraint": (200, 125, 255),
                       "feature": (215, 215, 222)}
            for _, kind in rows:
                with dpg.table_row(parent=self.stats_table):
                    self.stats_cells.append([dpg.add_text("", color=colours[kind])
                                             for _ in range(5)])
            self.stats_kinds = [kind for _, kind in rows]
        for (values, _), cells in zip(rows, self.stats_cells):
            for value, cell in zip(values, cells):
                dpg.set_value(cell, value)

    def clear_views(self) -> None:
        for group, texture, _ in self.view_items.values():
            dpg.delete_item(group)
            dpg.delete_item(texture)
        self.view_items.clear()
        dpg.configure_item(self.views_empty, show=True)


def _short(text: str, limit: int = 21) -> str:
    text = "  " + str(text)
    return text if len(text) <= limit else text[: limit - 2] + ".."
