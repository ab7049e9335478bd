"""The node palette: every node type of the registry, grouped by category, with a
search box. A click adds the node to the graph (the app decides where)."""

from __future__ import annotations

from typing import Callable

import dearpygui.dearpygui as dpg

from ..registry import CATEGORIES
from .theme import CATEGORY_COLORS

CATEGORY_TITLES = {"source": "Source", "transform": "Transforms", "model": "Models",
                   "feature": "Features",
                   "constraint": "Constraints", "target": "Targets", "sink": "Output"}


def type_tooltip(node_type) -> str:
    lines = [node_type.doc()]
    for s in node_type.inputs:
        lines.append(f"in  {s.name}: {s.type}" + (" (many)" if s.multi else "")
                     + ("" if s.required else " (optional)"))
    for s in node_type.outputs:
        lines.append(f"out {s.name}: {s.type}")
    flags = [f for f, on in (("random", node_type.random),
                             ("changes resolution", node_type.changes_resolution)) if on]
    if flags:
        lines.append(", ".join(flags))
    return "\n".join(lines)


def grouped(registry) -> list[tuple[str, list]]:
    """(category, node types sorted by name), in the catalog's category order."""
    out = []
    for category in CATEGORIES:
        types = sorted(registry.by_category(category), key=lambda t: t.name)
        if types:
            out.append((category, types))
    return out


def matches(node_type, text: str) -> bool:
    text = text.strip().lower()
    if not text:
        return True
    haystack = f"{node_type.name} {node_type.legacy_name or ''} {node_type.doc()}".lower()
    return all(word in haystack for word in text.split())


class Palette:
    def __init__(self, parent, registry, on_add: Callable[[str], None], search_handlers=None):
        self.registry, self.on_add = registry, on_add
        self.items: dict[str, int] = {}         # type name -> selectable
        self.headers: dict[str, int] = {}
        with dpg.group(parent=parent):
            dpg.add_text("Nodes", color=(170, 175, 190))
            self.search = dpg.add_input_text(hint="search nodes", width=-1,
                                             callback=lambda s, a: self.filter(a))
            if search_handlers is not None:
                dpg.bind_item_handler_registry(self.search, search_handlers)
            dpg.add_spacer(height=2)
            for category, types in grouped(registry):
                color = CATEGORY_COLORS.get(category, (120, 120, 120))
                with dpg.collapsing_header(label=CATEGORY_TITLES.get(category, category),
                                           default_open=True) as header:
                    self.headers[category] = header
                    for node_type in types:
                        with dpg.group(horizontal=True):
                            dpg.add_text("|", color=tuple(min(255, c + 70) for c in color))
                            item = dpg.add_selectable(label=node_type.name,
                                                      user_data=node_type.name,
                                                      callback=self._clicked)
                        self.items[node_type.name] = item
                        with dpg.tooltip(item):
                            dpg.add_text(type_tooltip(node_type), wrap=380)
            dpg.add_spacer(height=4)
            dpg.add_text("click: add at the view's centre\nright-click the canvas: add at the mouse",
                         color=(130, 132, 142), wrap=200)

    def _clicked(self, sender, app_data, user_data) -> None:
        dpg.set_value(sender, False)          # a button, not a toggle
        self.on_add(user_data)

    def filter(self, text: str) -> list[str]:
        """Show only the types matching `text`; returns their names."""
        shown = []
        for category, types in grouped(self.registry):
            any_shown = False
            for node_type in types:
                visible = matches(node_type, text)
                dpg.configure_item(dpg.get_item_parent(self.items[node_type.name]), show=visible)
                if visible:
                    shown.append(node_type.name)
                    any_shown = True
            dpg.configure_item(self.headers[category], show=any_shown)
        return shown
