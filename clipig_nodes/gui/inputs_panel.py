"""The editor's side of graph inputs: "Expose as input", the inputs panel, and the form a
template asks for when it is opened.

The app needs three small hooks (see the functions' docs):
- the node menu has an "Expose as input" submenu filled by `fill_expose_menu`, whose pick
  calls `expose(graph, execute, registry, node_id, param)` (wired in gui/menus.py);
- a child window holds `InputsPanel(execute, registry).build(parent)`, refreshed with
  `panel.refresh(graph)` when the history changes;
- opening a template calls `TemplateForm(graph, registry, on_done)` when the graph has inputs.
Every change is a command of graph.commands, so it undoes like any other edit.
"""

from __future__ import annotations

from typing import Callable

import dearpygui.dearpygui as dpg

from ..graph import commands as C
from ..graph.inputs import input_infos, with_inputs
from ..graph.model import INPUT_PATTERN, Graph
from ..problems import ProblemsError
from .widgets import to_text


def suggest_name(graph: Graph, node_id: str, param: str) -> str:
    """A free input name for node.param: the param's name (`text` -> `prompt` for a text
    feature's text, the usual word), else `node_param`, numbered when taken."""
    node = graph.nodes.get(node_id)
    base = "prompt" if node is not None and node.type == "text_feature" and param == "text" else param
    if base in graph.inputs:
        base = f"{node_id}_{param}".replace("-", "_")
    if not INPUT_PATTERN.fullmatch(base):
        base = "input"
    name, n = base, 2
    while name in graph.inputs:
        name, n = f"{base}_{n}", n + 1
    return name


def expose(graph: Graph, execute: Callable[[C.Command], object], registry, node_id: str,
           param: str) -> str | None:
    """Node menu -> "Expose as input" -> a param: one undoable step through `execute` (the
    app's, or History.execute); the new input's name, or None when the param is an input
    already (or unknown)."""
    node = graph.nodes.get(node_id)
    node_type = registry.get(node.type) if node is not None else None
    if node_type is None or node_type.param(param) is None or graph.input_for(node_id, param):
        return None
    name = suggest_name(graph, node_id, param)
    execute(C.AddInput(name, node_id, param, node_type.param(param).doc))
    return name


def fill_expose_menu(menu, graph: Graph, registry, node_id: str,
                     on_pick: Callable[[str], object]) -> None:
    """Fill a (sub)menu with the node's params that are not inputs yet."""
    dpg.delete_item(menu, children_only=True)
    node = graph.nodes.get(node_id)
    node_type = registry.get(node.type) if node is not None else None
    params = [p.name for p in node_type.param_list] if node_type is not None else []
    free = [p for p in params if graph.input_for(node_id, p) is None]
    for name in free:
        dpg.add_menu_item(label=name, parent=menu, user_data=name,
                          callback=lambda s, a, u: on_pick(u))
    if not free:
        dpg.add_menu_item(label="(every param is an input)", parent=menu, enabled=False)


class InputsPanel:
    """Lists the inputs: name (editable: Enter renames), what it sets, its value, a remove
    button. `execute(command)` is the app's way to run a command (history + redraw)."""

    def __init__(self, execute: Callable[[C.Command], object], registry):
        self.execute = execute
        self.registry = registry
        self.parent = None
        self.rows: dict[str, dict[str, int]] = {}       # input name -> its widgets
        self.message = None

    def build(self, parent) -> None:
        self.parent = parent
        with dpg.group(parent=parent) as self.group:
            dpg.add_text("Inputs")
            self.body = dpg.add_group()
            self.message = dpg.add_text("", color=(230, 120, 100))

    def refresh(self, graph: Graph) -> None:
        dpg.delete_item(self.body, children_only=True)
        self.rows = {}
        if not graph.inputs:
            dpg.add_text("none: right-click a param, 'Expose as input'", parent=self.body)
            return
        values = {info.name: info for info in input_infos(graph, self.registry)}
        for name, item in graph.inputs.items():
            info = values.get(name)
            with dpg.group(horizontal=True, parent=self.body):
                field = dpg.add_input_text(default_value=name, width=110, on_enter=True,
                                           user_data=name, callback=lambda s, a, u: self.rename(u, a))
                dpg.add_text(f"{item.target} = {to_text(info.value) if info else '?'}")
                remove = dpg.add_button(label="x", user_data=name,
                                        callback=lambda s, a, u: self.remove(u))
            if item.description or (info and info.param.doc):
                dpg.add_text(item.description or info.param.doc, parent=self.body, indent=16,
                             wrap=360, color=(160, 160, 160))
            self.rows[name] = {"name": field, "remove": remove}

    def rename(self, old: str, new: str) -> bool:
        return self._run(C.RenameInput(old, new.strip()))

    def remove(self, name: str) -> bool:
        return self._run(C.RemoveInput(name))

    def _run(self, command) -> bool:
        try:
            self.execute(command)
        except ValueError as exc:            # GraphError: a taken or malformed name
            dpg.set_value(self.message, str(exc))
            return False
        dpg.set_value(self.message, "")
        return True


class TemplateForm:
    """A modal form with one field per input, filled with the template's values. OK checks
    every value against its param (the messages name the input and stay in the form) and
    calls `on_done(graph with the values)`; Skip calls `on_done(graph)` unchanged."""

    def __init__(self, graph: Graph, registry, on_done: Callable[[Graph], None]):
        self.graph, self.registry, self.on_done = graph, registry, on_done
        self.fields: dict[str, int] = {}
        self.optional: set[str] = set()         # may stay empty (a seed: a new one each run)
        with dpg.window(label="Template inputs", modal=True, no_collapse=True, width=480,
                        autosize=True, no_close=True) as self.window:
            if graph.description:
                dpg.add_text(graph.description, wrap=460)
            for info in input_infos(graph, registry):
                if info.param.nullable:
                    self.optional.add(info.name)
                dpg.add_text(f"{info.name}: {info.input.description or info.param.doc}", wrap=460)
                self.fields[info.name] = dpg.add_input_text(default_value=to_text(info.value),
                                                            width=-1)
            self.message = dpg.add_text("", color=(230, 120, 100), wrap=460)
            with dpg.group(horizontal=True):
                dpg.add_button(label="OK", width=96, callback=lambda: self.ok())
                dpg.add_button(label="Skip", width=96, callback=lambda: self.skip())

    @property
    def open(self) -> bool:
        return dpg.does_item_exist(self.window)

    def set(self, name: str, text: str) -> None:
        dpg.set_value(self.fields[name], text)

    def ok(self) -> bool:
        values = {name: dpg.get_value(item) for name, item in self.fields.items()}
        values = {k: v for k, v in values.items() if v.strip() or k not in self.optional}
        try:
            graph = with_inputs(self.graph, values, self.registry)
        except ProblemsError as exc:
            dpg.set_value(self.message, "\n".join(p.message for p in exc.problems))
            return False
        dpg.delete_item(self.window)
        self.on_done(graph)
        return True

    def skip(self) -> None:
        dpg.delete_item(self.window)
        self.on_done(self.graph)


# --- glue for the app (two menu items in gui/menus.py) ----------------------------------------

class InputsWindow:
    """Edit > Graph inputs...: a window holding the inputs panel, kept current while shown."""

    def __init__(self, history: C.History, execute, registry):
        self.history = history
        with dpg.window(label="Graph inputs", show=False, width=440, height=260) as self.window:
            self.panel = InputsPanel(execute, registry)
            self.panel.build(self.window)
        history.add_listener(lambda h, action, command: self._changed())

    def show(self) -> None:
        self.panel.refresh(self.history.graph)
        dpg.configure_item(self.window, show=True)

    def _changed(self) -> None:
        if dpg.does_item_exist(self.window) and dpg.is_item_shown(self.window):
            self.panel.refresh(self.history.graph)


def open_template_asking(app, path) -> None:
    """Templates menu: open the template, then ask for its inputs; what the user fills in is
    one undoable step ("fill in template inputs")."""

    def fill(graph: Graph) -> None:
        current = app.history.graph
        changes = []
        for item in graph.inputs.values():
            value = graph.nodes[item.node].params.get(item.param)
            if value is not None and current.nodes[item.node].params.get(item.param) != value:
                changes.append(C.SetParam(item.node, item.param, value))
        if changes:
            app.execute(C.Compound(changes, "fill in template inputs"))

    def opened() -> None:
        if app._open(path, template=True) and app.history.graph.inputs:
            app.template_form = TemplateForm(app.history.graph, app.registry, fill)

    app.when_saved_or_discarded(opened, "opening another graph")
