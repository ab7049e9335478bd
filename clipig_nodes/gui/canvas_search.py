"""The canvas search: a box at the mouse (double-click or Space on empty canvas) that
filters node types by name and doc as you type; Enter adds the first match there.

Dear PyGui does not say when a link is being dragged from a pin, so the search
cannot finish such a drag. What it does instead: when one node is selected, the
new node is wired to it where the socket types fit (selected output -> new input,
or new output -> selected input).
"""

from __future__ import annotations

import time
from typing import Callable

import dearpygui.dearpygui as dpg

from ..graph import commands as C
from ..graph.model import Link
from .palette import matches

SHOWN = 10


def ranked(registry, text: str) -> list:
    """Node types matching `text`: names starting with it first, then names holding it,
    then the ones whose doc matches."""
    words = text.strip().lower()
    found = [t for t in registry if matches(t, words)] if words else \
        sorted(registry, key=lambda t: t.name)
    if not words:
        return found

    def rank(node_type):
        name = node_type.name.lower()
        return (0 if name.startswith(words) else 1 if words in name else 2, name)
    return sorted(found, key=rank)


def wiring(graph, registry, selected: str, new: str) -> C.Connect | None:
    """The first link between the selected node and the new one that is allowed."""
    a, b = registry.get(graph.nodes[selected].type), registry.get(graph.nodes[new].type)
    if a is None or b is None:
        return None
    candidates = [Link(selected, o.name, new, i.name) for o in a.outputs for i in b.inputs
                  if o.type == i.type]
    candidates += [Link(new, o.name, selected, i.name) for o in b.outputs for i in a.inputs
                   if o.type == i.type]
    for link in candidates:
        command, reason = C.connect_command(graph, registry, link)
        if command is not None:
            return command
    return None


class CanvasSearch:
    def __init__(self, registry, on_pick: Callable[[str], None], handlers=None):
        self.registry, self.on_pick = registry, on_pick
        self.matches: list[str] = []
        self.opened_at = 0.0
        with dpg.window(show=False, no_title_bar=True, autosize=True, no_move=True,
                        min_size=(260, 40), no_saved_settings=True) as self.window:
            self.input = dpg.add_input_text(hint="search node types (Enter adds the first)",
                                            width=300, callback=lambda s, a: self.filter(a))
            if handlers is not None:
                dpg.bind_item_handler_registry(self.input, handlers)
            self.list = dpg.add_group()

    @property
    def shown(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self, screen_pos) -> None:
        self.opened_at = time.monotonic()
        dpg.set_value(self.input, "")
        self.filter("")
        dpg.configure_item(self.window, show=True, pos=[int(screen_pos[0]), int(screen_pos[1])])
        dpg.focus_item(self.window)
        dpg.focus_item(self.input)

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)

    def filter(self, text: str) -> list[str]:
        self.matches = [t.name for t in ranked(self.registry, text)]
        dpg.delete_item(self.list, children_only=True)
        for name in self.matches[:SHOWN]:
            node_type = self.registry.get(name)
            dpg.add_selectable(label=f"{name}  -  {node_type.doc()[:60]}", parent=self.list,
                                      user_data=name, callback=lambda s, a, u: self.pick(u))
        if len(self.matches) > SHOWN:
            dpg.add_text(f"... {len(self.matches) - SHOWN} more: type more letters",
                         parent=self.list, color=(130, 132, 142))
        if not self.matches:
            dpg.add_text("no node type matches", parent=self.list, color=(130, 132, 142))
        return self.matches

    def accept(self) -> str | None:
        """Enter: add the first match."""
        if not self.matches:
            return None
        return self.pick(self.matches[0])

    def pick(self, name: str) -> str:
        self.close()
        self.on_pick(name)
        return name
