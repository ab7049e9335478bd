"""A small window showing what one node output looks like in the running training.

The node menu's "Preview output" asks the training process for it (Runner.request_preview
sends ("preview", node_id, output)); the answer comes back as a RunMessage of kind
"preview" whose `message` is "node_id.output" and whose `image` is an [H, W, 3] uint8
array. Each answer replaces the picture shown for that output.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg
import numpy as np

from .runner import rgba

SIZE = 256


class PreviewWindow:
    def __init__(self):
        self.window = None
        self.texture = None
        self.registry = None
        self.image = None
        self.key: str | None = None         # "node.output" shown or awaited
        self.images_shown = 0

    def _ensure(self, size) -> None:
        w, h = size
        if self.texture is not None and dpg.get_item_configuration(self.texture).get(
                "width") == w and dpg.get_item_configuration(self.texture).get("height") == h:
            return
        for item in (self.window, self.texture, self.registry):
            if item is not None and dpg.does_item_exist(item):
                dpg.delete_item(item)
        with dpg.texture_registry() as self.registry:
            self.texture = dpg.add_dynamic_texture(w, h, [0.0] * (w * h * 4))
        scale = SIZE / max(w, h)
        with dpg.window(label="Preview", width=int(w * scale) + 20, height=int(h * scale) + 64,
                        pos=(260, 80), no_saved_settings=True) as self.window:
            self.caption = dpg.add_text("")
            self.image = dpg.add_image(self.texture, width=int(w * scale), height=int(h * scale))

    def waiting(self, key: str) -> None:
        """Asked for `key`: show the window with a note until the picture comes."""
        self.key = key
        self._ensure((SIZE, SIZE))
        dpg.configure_item(self.window, show=True, label=f"Preview: {key}")
        dpg.set_value(self.caption, "waiting for the training's next step ...")

    def show(self, key: str, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self._ensure((w, h))
        self.key = key
        _, _, data = rgba(image)
        dpg.set_value(self.texture, data)
        dpg.configure_item(self.window, show=True, label=f"Preview: {key}")
        dpg.set_value(self.caption, f"{key}: {w}x{h}")
        self.images_shown += 1

    @property
    def shown(self) -> bool:
        return self.window is not None and bool(dpg.is_item_shown(self.window))
