"""Zoom for the node editor, which has none of its own.

A zoom level scales three things together: node positions (the view maps a model
position p to the grid position p * zoom + offset), the font the nodes are drawn
with (one font per level, made on first use and bound to the editor's window) and
the sizes in the nodes (field widths, paddings, pins: a style theme per level). Under
DETAIL_ZOOM the nodes fold to their title and pins.

The pure parts (levels, the zoom that fits a box, the offset that keeps a point under
the mouse) need no window and are tested on their own.
"""

from __future__ import annotations

LEVELS = (0.25, 0.33, 0.4, 0.5, 0.6, 0.67, 0.75, 0.85, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)
MIN_ZOOM, MAX_ZOOM = LEVELS[0], LEVELS[-1]
BASE_FONT = 15
FIT_MAX = 1.0           # "fit" never enlarges past 100%: a small graph stays readable size
# Below this, nodes show title and pins only: their fields would be too small to read,
# and each drawn field costs frame time with a software renderer.
DETAIL_ZOOM = 0.5


def step(zoom: float, steps: int) -> float:
    """The level `steps` away from `zoom` (+ in, - out), clamped to the range."""
    nearest = min(range(len(LEVELS)), key=lambda i: abs(LEVELS[i] - zoom))
    return LEVELS[max(0, min(len(LEVELS) - 1, nearest + steps))]


def fit_level(size: tuple[float, float], view: tuple[float, float], margin: float = 40) -> float:
    """The largest level (at most FIT_MAX) at which a box of model `size` fits in `view`."""
    room = (max(1.0, view[0] - 2 * margin), max(1.0, view[1] - 2 * margin))
    need = min(room[0] / max(1.0, size[0]), room[1] / max(1.0, size[1]))
    fitting = [z for z in LEVELS if z <= min(need, FIT_MAX)]
    return fitting[-1] if fitting else MIN_ZOOM


def offset_keeping(anchor_grid: tuple[float, float], model: tuple[float, float],
                   zoom: float) -> tuple[float, float]:
    """The view offset that puts model point `model` at grid point `anchor_grid` at `zoom`:
    zooming about the mouse keeps what is under it there."""
    return (anchor_grid[0] - model[0] * zoom, anchor_grid[1] - model[1] * zoom)


def font_size(zoom: float) -> int:
    return max(5, round(BASE_FONT * zoom))


class ZoomStyles:
    """Fonts and style themes per zoom level, made when first needed (Dear PyGui)."""

    def __init__(self, font_file: str | None):
        self.font_file = font_file
        self.fonts: dict[int, int] = {}
        self.themes: dict[float, int] = {}

    def font(self, zoom: float) -> int | None:
        import dearpygui.dearpygui as dpg

        if self.font_file is None:
            return None
        size = font_size(zoom)
        if size not in self.fonts:
            try:
                with dpg.font_registry():
                    self.fonts[size] = dpg.add_font(self.font_file, size)
            except Exception:      # a font that cannot load: the default one still works
                return None
        return self.fonts[size]

    def theme(self, zoom: float) -> int:
        import dearpygui.dearpygui as dpg

        if zoom not in self.themes:
            s = lambda v: max(1.0, v * zoom)        # noqa: E731
            nodes = dpg.mvThemeCat_Nodes
            with dpg.theme() as theme:
                with dpg.theme_component(dpg.mvAll):
                    dpg.add_theme_style(dpg.mvStyleVar_FramePadding, s(5), s(3))
                    dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, s(6), s(4))
                    dpg.add_theme_style(dpg.mvStyleVar_ItemInnerSpacing, s(4), s(4))
                    dpg.add_theme_style(dpg.mvStyleVar_IndentSpacing, s(21))
                    dpg.add_theme_style(dpg.mvNodeStyleVar_NodePadding, s(8), s(5), category=nodes)
                    dpg.add_theme_style(dpg.mvNodeStyleVar_NodeCornerRounding, s(5),
                                        category=nodes)
                    dpg.add_theme_style(dpg.mvNodeStyleVar_PinCircleRadius, s(4.5),
                                        category=nodes)
                    dpg.add_theme_style(dpg.mvNodeStyleVar_PinQuadSideLength, s(9), category=nodes)
                    dpg.add_theme_style(dpg.mvNodeStyleVar_PinTriangleSideLength, s(11),
                                        category=nodes)
                    dpg.add_theme_style(dpg.mvNodeStyleVar_PinOffset, 0, category=nodes)
                    dpg.add_theme_style(dpg.mvNodeStyleVar_LinkThickness, max(1.5, 3 * zoom),
                                        category=nodes)
                    dpg.add_theme_style(dpg.mvNodeStyleVar_GridSpacing, s(24), category=nodes)
            self.themes[zoom] = theme
        return self.themes[zoom]
