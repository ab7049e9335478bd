"""File > New from template: every template in graphs/ as a card with its thumbnail
(the PNG the template made, kept beside it: `name.png`), its description and its exposed
inputs; a click opens it as a new, untitled graph."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg
import numpy as np

from ..graph.fileformat import SUFFIX
from .files import templates
from .runner import rgba

THUMB = 128


def thumbnail_of(template: Path) -> Path | None:
    """`name.png` beside `name.graph.yaml`, when there is one."""
    png = template.with_name(template.name[: -len(SUFFIX)] + ".png")
    return png if png.is_file() else None


def cards(folder=None) -> list[dict]:
    """name, path, description, inputs [(name, description)], thumbnail path per template."""
    return [{**vars(t), "thumbnail": thumbnail_of(t.path)} for t in templates(folder)]


class Gallery:
    def __init__(self, on_open: Callable[[Path], None], folder=None):
        self.on_open, self.folder = on_open, folder
        self.window = None
        self.textures = None
        self.buttons: dict[str, int] = {}       # template name -> its Open button

    def show(self) -> None:
        self.close()
        self.buttons = {}
        vw, vh = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        width, height = min(980, vw - 60), min(720, vh - 60)
        self.textures = dpg.add_texture_registry()
        with dpg.window(label="New from template", modal=True, width=width, height=height,
                        pos=((vw - width) // 2, (vh - height) // 2), no_saved_settings=True,
                        on_close=lambda: self.close()) as self.window:
            dpg.add_text("Click Open to start from a template (a new, untitled graph).",
                         color=(170, 175, 190))
            with dpg.table(header_row=False, policy=dpg.mvTable_SizingStretchProp):
                dpg.add_table_column(width_fixed=True, init_width_or_weight=THUMB + 8)
                dpg.add_table_column(init_width_or_weight=1.0)
                for card in cards(self.folder):
                    with dpg.table_row():
                        self._thumbnail(card["thumbnail"])
                        with dpg.group():
                            with dpg.group(horizontal=True):
                                dpg.add_text(card["name"], color=(120, 190, 255))
                                self.buttons[card["name"]] = dpg.add_button(
                                    label="Open", user_data=card["path"],
                                    callback=lambda s, a, u: self._open(u))
                            dpg.add_text(card["description"] or "(no description)",
                                         wrap=width - THUMB - 60)
                            if card["inputs"]:
                                dpg.add_text("inputs: " + "; ".join(
                                    f"{n}" + (f" ({d})" if d else "") for n, d in card["inputs"]),
                                    wrap=width - THUMB - 60, color=(150, 200, 150))

    def _thumbnail(self, path: Path | None) -> None:
        if path is None:
            dpg.add_text("(no picture)", color=(110, 112, 120))
            return
        from PIL import Image

        try:
            with Image.open(path) as image:
                array = np.asarray(image.convert("RGB"))
        except OSError:
            dpg.add_text("(unreadable picture)", color=(110, 112, 120))
            return
        w, h, data = rgba(array)
        texture = dpg.add_static_texture(w, h, data, parent=self.textures)
        scale = THUMB / max(w, h)
        dpg.add_image(texture, width=int(w * scale), height=int(h * scale))

    def _open(self, path: Path) -> None:
        self.close()
        self.on_open(path)

    def close(self) -> None:
        for item in (self.window, self.textures):
            if item is not None and dpg.does_item_exist(item):
                dpg.delete_item(item)
        self.window = self.textures = None

    @property
    def shown(self) -> bool:
        return self.window is not None and dpg.does_item_exist(self.window)
