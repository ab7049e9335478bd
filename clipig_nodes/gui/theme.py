"""Colours, themes and fonts: pins and links coloured by socket type, node title bars
by category, error/warning marks."""

from __future__ import annotations

import os
from pathlib import Path

import dearpygui.dearpygui as dpg

from ..registry import (CONSTRAINT, CONSTRAINT_CAT, FEATURE, FEATURE_CAT, IMAGE, MODEL,
                        MODEL_CAT, SINK, SOURCE, TARGET, TARGET_CAT, TRANSFORM)
from .zoom import BASE_FONT

# socket type -> pin and link colour
SOCKET_COLORS = {
    IMAGE: (86, 170, 255),
    FEATURE: (255, 190, 60),
    CONSTRAINT: (200, 125, 255),
    TARGET: (80, 215, 140),
    MODEL: (240, 110, 110),
}

# category -> title bar colour
CATEGORY_COLORS = {
    SOURCE: (38, 110, 120),
    TRANSFORM: (45, 80, 140),
    MODEL_CAT: (135, 55, 55),
    FEATURE_CAT: (140, 100, 30),
    CONSTRAINT_CAT: (100, 60, 140),
    TARGET_CAT: (40, 120, 75),
    SINK: (95, 95, 105),
}
UNKNOWN_COLOR = (90, 90, 90)

ERROR_COLOR = (230, 70, 70)
WARNING_COLOR = (235, 170, 50)
OK_COLOR = (120, 210, 120)
MUTED_COLOR = (150, 150, 160)
HIGHLIGHT_COLOR = (255, 240, 120)
SELECTED_COLOR = (120, 190, 255)        # what the editor selected itself (pasted nodes)
BACKGROUND = (30, 31, 36)      # the viewport's clear colour: no panel fills its background
GRID_BACKGROUND = (0, 0, 0, 0)  # the editor's canvas too (a software renderer pays per fill)

FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:/Windows/Fonts/segoeui.ttf",
]
MONO_FONT_FILES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansMono.ttf",
    "/System/Library/Fonts/Menlo.ttc",
    "C:/Windows/Fonts/consola.ttf",
]


def _shade(color, factor):
    return tuple(max(0, min(255, int(c * factor))) for c in color[:3])


class Themes:
    """All themes, made once per context."""

    def __init__(self):
        self.app = self._app_theme()
        self.main_window = self._main_window_theme()
        self.pins_in = {t: self._pin_theme(c) for t, c in SOCKET_COLORS.items()}
        self.links = {t: self._link_theme(c) for t, c in SOCKET_COLORS.items()}
        self.nodes: dict[tuple[str | None, str], int] = {}
        for category in (*CATEGORY_COLORS, None):
            for state in ("ok", "warning", "error", "highlight", "selected"):
                self.nodes[(category, state)] = self._node_theme(category, state)
        self.error_widget = self._widget_theme(ERROR_COLOR)
        self.small_button = self._small_button_theme()
        self.problem_error = self._text_theme(ERROR_COLOR)
        self.problem_warning = self._text_theme(WARNING_COLOR)
        self.status_error = self._text_theme(ERROR_COLOR)
        self.status_ok = self._text_theme((205, 205, 210))
        self.run_button = self._button_theme((40, 120, 70))
        self.stop_button = self._button_theme((140, 50, 50))
        self.update_button = self._button_theme((45, 85, 150))

    def node(self, category: str | None, state: str) -> int:
        return self.nodes.get((category, state)) or self.nodes[(None, state)]

    # --- makers -------------------------------------------------------------------------------

    @staticmethod
    def _app_theme():
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvThemeCol_WindowBg, BACKGROUND)
                dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (26, 27, 31))
                dpg.add_theme_color(dpg.mvThemeCol_PopupBg, (36, 37, 43))
                dpg.add_theme_color(dpg.mvThemeCol_MenuBarBg, (24, 25, 29))
                dpg.add_theme_color(dpg.mvThemeCol_FrameBg, (48, 50, 58))
                dpg.add_theme_color(dpg.mvThemeCol_FrameBgHovered, (62, 65, 76))
                dpg.add_theme_color(dpg.mvThemeCol_FrameBgActive, (70, 74, 88))
                dpg.add_theme_color(dpg.mvThemeCol_Header, (52, 60, 78))
                dpg.add_theme_color(dpg.mvThemeCol_HeaderHovered, (62, 74, 100))
                dpg.add_theme_color(dpg.mvThemeCol_HeaderActive, (70, 86, 120))
                dpg.add_theme_color(dpg.mvThemeCol_Button, (55, 60, 74))
                dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, (70, 78, 98))
                dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, (84, 94, 120))
                dpg.add_theme_color(dpg.mvThemeCol_PlotHistogram, (86, 170, 255))
                dpg.add_theme_color(dpg.mvThemeCol_Border, (55, 57, 66))
                dpg.add_theme_color(dpg.mvThemeCol_TableHeaderBg, (40, 42, 50))
                dpg.add_theme_style(dpg.mvStyleVar_FrameRounding, 3)
                dpg.add_theme_style(dpg.mvStyleVar_WindowRounding, 4)
                dpg.add_theme_style(dpg.mvStyleVar_ChildRounding, 4)
                dpg.add_theme_style(dpg.mvStyleVar_PopupRounding, 3)
                dpg.add_theme_style(dpg.mvStyleVar_GrabRounding, 3)
                dpg.add_theme_style(dpg.mvStyleVar_FramePadding, 5, 3)
                dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 6, 4)
                dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 6, 6)
                dpg.add_theme_color(dpg.mvNodeCol_GridBackground, GRID_BACKGROUND,
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_GridLine, (90, 94, 110, 40),   # faint over group frames
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_NodeBackground, (50, 52, 60),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_NodeBackgroundHovered, (56, 58, 68),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_NodeBackgroundSelected, (62, 66, 80),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_NodeOutline, (80, 84, 98),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_BoxSelector, (86, 170, 255, 40),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_BoxSelectorOutline, (86, 170, 255, 150),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_style(dpg.mvNodeStyleVar_NodeCornerRounding, 5,
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_style(dpg.mvNodeStyleVar_NodePadding, 8, 5,
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_style(dpg.mvNodeStyleVar_PinCircleRadius, 4.5,
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_style(dpg.mvNodeStyleVar_PinQuadSideLength, 9,
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_style(dpg.mvNodeStyleVar_PinTriangleSideLength, 11,
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_style(dpg.mvNodeStyleVar_LinkThickness, 3,
                                    category=dpg.mvThemeCat_Nodes)
            with dpg.theme_component(dpg.mvInputText, enabled_state=False):
                dpg.add_theme_color(dpg.mvThemeCol_Text, MUTED_COLOR)
            with dpg.theme_component(dpg.mvButton, enabled_state=False):
                dpg.add_theme_color(dpg.mvThemeCol_Button, (44, 46, 52))
                dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, (44, 46, 52))
                dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, (44, 46, 52))
                dpg.add_theme_color(dpg.mvThemeCol_Text, (110, 110, 118))
            with dpg.theme_component(dpg.mvMenuItem, enabled_state=False):
                dpg.add_theme_color(dpg.mvThemeCol_Text, (110, 110, 118))
        return theme

    @staticmethod
    def _main_window_theme():
        """The main window and its panels draw no background of their own: the viewport's
        clear colour is the background. With a software renderer (Mesa llvmpipe) every
        full-size fill costs milliseconds a frame."""
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvThemeCol_WindowBg, (0, 0, 0, 0))
                dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (0, 0, 0, 0))
        return theme

    @staticmethod
    def _pin_theme(color):
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvNodeCol_Pin, color, category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_PinHovered, _shade(color, 1.3),
                                    category=dpg.mvThemeCat_Nodes)
        return theme

    @staticmethod
    def _link_theme(color):
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvNodeCol_Link, (*color, 220), category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_LinkHovered, _shade(color, 1.3),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_LinkSelected, (255, 255, 255),
                                    category=dpg.mvThemeCat_Nodes)
        return theme

    @staticmethod
    def _node_theme(category, state):
        title = CATEGORY_COLORS.get(category, UNKNOWN_COLOR)
        outline = (80, 84, 98)
        if state == "error":
            title, outline = (165, 45, 45), ERROR_COLOR
        elif state == "warning":
            outline = WARNING_COLOR
        elif state == "highlight":
            outline = HIGHLIGHT_COLOR
        elif state == "selected":
            outline = SELECTED_COLOR
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvNodeCol_TitleBar, title, category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_TitleBarHovered, _shade(title, 1.2),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_TitleBarSelected, _shade(title, 1.45),
                                    category=dpg.mvThemeCat_Nodes)
                dpg.add_theme_color(dpg.mvNodeCol_NodeOutline, outline, category=dpg.mvThemeCat_Nodes)
                if state in ("error", "warning", "highlight", "selected"):
                    dpg.add_theme_style(dpg.mvNodeStyleVar_NodeBorderThickness,
                                        3 if state in ("highlight", "selected") else 2,
                                        category=dpg.mvThemeCat_Nodes)
        return theme

    @staticmethod
    def _widget_theme(color):
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvThemeCol_FrameBg, _shade(color, 0.45))
                dpg.add_theme_color(dpg.mvThemeCol_FrameBgHovered, _shade(color, 0.55))
                dpg.add_theme_color(dpg.mvThemeCol_Border, color)
                dpg.add_theme_style(dpg.mvStyleVar_FrameBorderSize, 1)
        return theme

    @staticmethod
    def _small_button_theme():
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvButton):
                dpg.add_theme_color(dpg.mvThemeCol_Button, (0, 0, 0, 0))
                dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, (80, 86, 104))
                dpg.add_theme_color(dpg.mvThemeCol_Text, MUTED_COLOR)
                dpg.add_theme_style(dpg.mvStyleVar_FramePadding, 2, 3)
        return theme

    @staticmethod
    def _text_theme(color):
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvAll):
                dpg.add_theme_color(dpg.mvThemeCol_Text, color)
        return theme

    @staticmethod
    def _button_theme(color):
        with dpg.theme() as theme:
            with dpg.theme_component(dpg.mvButton):
                dpg.add_theme_color(dpg.mvThemeCol_Button, color)
                dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, _shade(color, 1.25))
                dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, _shade(color, 1.45))
            with dpg.theme_component(dpg.mvButton, enabled_state=False):
                dpg.add_theme_color(dpg.mvThemeCol_Button, (50, 52, 58))
                dpg.add_theme_color(dpg.mvThemeCol_ButtonHovered, (50, 52, 58))
                dpg.add_theme_color(dpg.mvThemeCol_ButtonActive, (50, 52, 58))
                dpg.add_theme_color(dpg.mvThemeCol_Text, (110, 110, 118))
        return theme


def _first_file(paths) -> str | None:
    extra = os.environ.get("CLIPIG_NODES_FONT")
    for path in ([extra] if extra else []) + list(paths):
        if path and Path(path).is_file():
            return path
    return None


def load_fonts(size: int = BASE_FONT) -> dict[str, int | None]:
    """A clearer font than Dear PyGui's built-in pixel font, when the system has one."""
    fonts = {"ui": None, "mono": None}
    regular, mono = _first_file(FONT_FILES), _first_file(MONO_FONT_FILES)
    if not (regular or mono):
        return fonts
    with dpg.font_registry():
        try:
            if regular:
                fonts["ui"] = dpg.add_font(regular, size)
            if mono:
                fonts["mono"] = dpg.add_font(mono, size - 2)
        except Exception:      # a damaged font file: the built-in font still works
            return {"ui": None, "mono": None}
    if fonts["ui"] is not None:
        dpg.bind_font(fonts["ui"])
        fonts["ui_file"] = regular           # the editor's zoom makes more sizes of it
    return fonts
