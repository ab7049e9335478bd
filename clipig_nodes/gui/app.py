"""The editor window: menus, shortcuts, panels, and the main loop.

One App per process (Dear PyGui has one context). The model is a History over
a Graph; every panel is a view over it, refreshed by the history's listener.
Training runs in a worker process (gui.runner, gui.worker); the main loop
renders frames by hand (`render_dearpygui_frame`) and between frames runs the
Dear PyGui callbacks (manual callback management: every callback runs on this
thread), drains the training's messages into the run panel, and autosaves.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import dearpygui.dearpygui as dpg

from ..graph import commands as C
from ..graph.clipboard import copy_nodes, duplicate_command, paste_command
from ..graph.fileformat import SUFFIX
from ..graph.layout import auto_layout
from ..graph.model import Graph, GraphError
from ..graph.validate import validate
from ..output_names import output_path
from ..problems import Problem, ProblemsError
from ..registry import default_registry
from . import files
from .dialogs import Dialogs
from .editor import EditorView
from .palette import CATEGORY_TITLES, Palette, grouped
from .problems import ProblemsPanel
from .run_panel import RunPanel
from .runner import FINISHED, LOADING, RUNNING, Runner
from .theme import BACKGROUND, Themes, load_fonts

APP_NAME = "clipig-nodes"
SHORTCUTS = """Ctrl+Z  undo            Ctrl+Y / Ctrl+Shift+Z  redo
Ctrl+C  copy nodes      Ctrl+V  paste (at the mouse)   Ctrl+X  cut
Ctrl+D  duplicate       Delete  delete selected nodes and links
Ctrl+N  new             Ctrl+O  open      Ctrl+Shift+S  save graph
Ctrl+S  save image (PNG with the graph, never over a file)
F5  start   Shift+F5  stop   F6  update the running training
Home  show the whole graph
Right-click the canvas: add a node there; right-click a node title: node menu.
Ctrl+click a link: detach it. Drag on empty canvas: box-select; middle drag: pan."""


class App:
    def __init__(self, path=None, *, run_options: dict | None = None, state_dir=None,
                 registry=None, width: int = 1600, height: int = 960, offer_recovery: bool = True,
                 autosave_interval: float = 3.0, vsync: bool = True, templates_dir=None,
                 max_fps: float | None = 60.0, warm_up: bool = False):
        self.registry = registry or default_registry()
        self.run_options = dict(run_options or {})
        self.autosave_interval = autosave_interval
        self.max_fps = max_fps            # without vsync (a virtual display) frames would spin
        self._frame_started = 0.0
        self.templates_dir = templates_dir
        folder = Path(state_dir) if state_dir else files.state_dir()
        self.recent = files.RecentFiles(folder)
        self.recovery = files.Recovery(folder)
        self.document = files.Document()
        self.history = C.History(Graph())
        self.history.add_listener(self._on_history)
        self.runner = Runner()
        self.run_revision: int | None = None
        self.problems: list[Problem] = []
        self.load_problems: list[Problem] = []
        self.clipboard = ""
        self.status_text = ""
        self.editing: set[int] = set()          # text fields being typed in
        self.frames = 0
        self._autosaved_revision = 0
        self._autosaved_at = time.monotonic()
        self._title = ""
        self._add_count = 0
        self._menu_pos = (0.0, 0.0)
        self._menu_node: str | None = None
        self._frame_all_in: int | None = None
        self._exit_requested = False
        self.closed = False

        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        self.themes = Themes()
        self.fonts = load_fonts()
        self._handlers()
        self.dialogs = Dialogs(self.text_handlers)
        self._build()
        dpg.create_viewport(title=APP_NAME, width=width, height=height, disable_close=True,
                            vsync=vsync, clear_color=(*BACKGROUND, 255))
        dpg.set_exit_callback(lambda: self.request_exit())
        dpg.setup_dearpygui()
        dpg.show_viewport()
        dpg.set_viewport_resize_callback(lambda: self._fit_window())
        self._fit_window()
        dpg.bind_theme(self.themes.app)
        dpg.bind_item_theme(self.window, self.themes.main_window)
        self._on_history(self.history, "reset", None)
        self.status("Start from a template (Templates menu), open a graph (Ctrl+O), or add nodes "
                    "from the palette. Right-click the canvas to add a node at the mouse.")
        if warm_up:
            self.runner.warm_up()         # torch loads in the training process meanwhile
        if path is not None:
            self.open_path(path, ask=False)
        if offer_recovery:
            self.check_recovery()

    # --- building ---------------------------------------------------------------------------

    def _handlers(self) -> None:
        with dpg.handler_registry() as self.global_handlers:
            dpg.add_key_press_handler(callback=lambda s, key: self.on_key(key))
            dpg.add_mouse_release_handler(button=dpg.mvMouseButton_Left,
                                          callback=lambda: self.on_mouse_release())
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Right,
                                        callback=lambda: self.on_right_click())
        with dpg.item_handler_registry() as self.text_handlers:
            dpg.add_item_activated_handler(callback=lambda s, a: self.editing.add(a))
            dpg.add_item_deactivated_handler(callback=lambda s, a: self._done_editing(a))
        with dpg.item_handler_registry() as self.node_handlers:
            dpg.add_item_clicked_handler(button=dpg.mvMouseButton_Right,
                                         callback=lambda s, a: self.open_node_menu(a[1]))

    def _done_editing(self, item) -> None:
        self.editing.discard(item)
        self.history.seal()

    def _build(self) -> None:
        # Not a "primary window": Dear PyGui fills a primary window's background even when
        # told not to, and with a software renderer each full-window fill costs ~10 ms a
        # frame. This one draws no background (the viewport's clear colour is it) and
        # follows the viewport's size.
        with dpg.window(no_scrollbar=True, no_title_bar=True, no_move=True, no_resize=True,
                        no_collapse=True, no_close=True, no_background=True, pos=(0, 0),
                        no_bring_to_front_on_focus=True, menubar=True) as self.window:
            self._menus()
            with dpg.group(horizontal=True):
                with dpg.child_window(width=230, height=-28) as self.palette_window:
                    self.palette = Palette(self.palette_window, self.registry, self.add_node,
                                           self.text_handlers)
                with dpg.group():
                    with dpg.child_window(width=-410, height=-150, border=False,
                                          no_scrollbar=True) as self.editor_window:
                        self.editor = EditorView(self.editor_window, self.registry, self.themes,
                                                 self.execute, self.status, self.text_handlers,
                                                 self.node_handlers, self.browse_path)
                    with dpg.child_window(width=-410, height=-28) as self.problems_window:
                        self.problems_panel = ProblemsPanel(self.problems_window, self.on_problem)
                with dpg.child_window(width=-1, height=-28) as self.run_window:
                    self.run_panel = RunPanel(self.run_window, self.themes, self.start_run,
                                              self.stop_run, self.update_run, self.toggle_pause,
                                              self.save_image, self.fonts.get("mono"))
            with dpg.group(horizontal=True):
                self.status_item = dpg.add_text("")
        self._add_menu()
        self._node_menu()

    def _fit_window(self) -> None:
        dpg.configure_item(self.window, pos=(0, 0), width=dpg.get_viewport_client_width(),
                           height=dpg.get_viewport_client_height())

    def _menus(self) -> None:
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                dpg.add_menu_item(label="New", shortcut="Ctrl+N", callback=lambda: self.new_document())
                dpg.add_menu_item(label="Open...", shortcut="Ctrl+O",
                                  callback=lambda: self.open_dialog())
                self.recent_menu = dpg.add_menu(label="Open recent")
                dpg.add_separator()
                dpg.add_menu_item(label="Save graph", shortcut="Ctrl+Shift+S",
                                  callback=lambda: self.save())
                dpg.add_menu_item(label="Save graph as...", callback=lambda: self.save_as_dialog())
                dpg.add_separator()
                dpg.add_menu_item(label="Import CLIPig YAML...", callback=lambda: self.import_dialog())
                dpg.add_menu_item(label="Export CLIPig YAML...", callback=lambda: self.export_dialog())
                dpg.add_separator()
                dpg.add_menu_item(label="Save image", shortcut="Ctrl+S",
                                  callback=lambda: self.save_image())
                dpg.add_separator()
                dpg.add_menu_item(label="Quit", callback=lambda: self.request_exit())
            with dpg.menu(label="Edit"):
                self.undo_item = dpg.add_menu_item(label="Undo", shortcut="Ctrl+Z",
                                                   callback=lambda: self.undo())
                self.redo_item = dpg.add_menu_item(label="Redo", shortcut="Ctrl+Y",
                                                   callback=lambda: self.redo())
                dpg.add_separator()
                dpg.add_menu_item(label="Cut", shortcut="Ctrl+X", callback=lambda: self.cut())
                dpg.add_menu_item(label="Copy", shortcut="Ctrl+C", callback=lambda: self.copy())
                dpg.add_menu_item(label="Paste", shortcut="Ctrl+V", callback=lambda: self.paste())
                dpg.add_menu_item(label="Duplicate", shortcut="Ctrl+D",
                                  callback=lambda: self.duplicate())
                dpg.add_menu_item(label="Delete", shortcut="Del",
                                  callback=lambda: self.delete_selection())
                dpg.add_separator()
                dpg.add_menu_item(label="Tidy layout", callback=lambda: self.tidy_layout())
                dpg.add_menu_item(label="Graph description...",
                                  callback=lambda: self.edit_description())
            with dpg.menu(label="View"):
                dpg.add_menu_item(label="Show whole graph", shortcut="Home",
                                  callback=lambda: self.editor.frame_all())
            with dpg.menu(label="Templates"):
                for template in files.templates(self.templates_dir):
                    item = dpg.add_menu_item(label=template.name, user_data=template.path,
                                             callback=lambda s, a, u: self.open_template(u))
                    if template.description:
                        with dpg.tooltip(item):
                            dpg.add_text(template.description, wrap=420)
            with dpg.menu(label="Run"):
                dpg.add_menu_item(label="Start", shortcut="F5", callback=lambda: self.start_run())
                dpg.add_menu_item(label="Stop", shortcut="Shift+F5", callback=lambda: self.stop_run())
                dpg.add_menu_item(label="Update running training", shortcut="F6",
                                  callback=lambda: self.update_run())
                dpg.add_menu_item(label="Pause / resume", callback=lambda: self.toggle_pause())
            with dpg.menu(label="Help"):
                dpg.add_menu_item(label="Shortcuts", callback=lambda: self.dialogs.info(
                    "Shortcuts", SHORTCUTS))
        self._fill_recent()

    def _fill_recent(self) -> None:
        dpg.delete_item(self.recent_menu, children_only=True)
        paths = self.recent.load()
        if not paths:
            dpg.add_menu_item(label="(none yet)", parent=self.recent_menu, enabled=False)
        for path in paths:
            dpg.add_menu_item(label=str(path), parent=self.recent_menu, user_data=path,
                              callback=lambda s, a, u: self.open_path(u))

    def _add_menu(self) -> None:
        """The right-click menu of the canvas: add a node at the mouse."""
        with dpg.window(popup=True, show=False, no_title_bar=True, autosize=True,
                        min_size=(160, 20)) as self.add_menu:
            dpg.add_text("Add node", color=(170, 175, 190))
            dpg.add_separator()
            for category, types in grouped(self.registry):
                with dpg.menu(label=CATEGORY_TITLES.get(category, category)):
                    for node_type in types:
                        item = dpg.add_menu_item(label=node_type.name, user_data=node_type.name,
                                                 callback=lambda s, a, u: self._add_from_menu(u))
                        with dpg.tooltip(item):
                            dpg.add_text(node_type.doc(), wrap=360)
            dpg.add_separator()
            dpg.add_menu_item(label="Paste here", callback=lambda: self._paste_from_menu())

    def _node_menu(self) -> None:
        with dpg.window(popup=True, show=False, no_title_bar=True, autosize=True,
                        min_size=(160, 20)) as self.node_menu:
            self.node_menu_title = dpg.add_text("", color=(170, 175, 190))
            dpg.add_separator()
            dpg.add_menu_item(label="Rename...", callback=lambda: self.rename_dialog(self._menu_node))
            dpg.add_menu_item(label="Duplicate", callback=lambda: self.duplicate([self._menu_node]))
            dpg.add_menu_item(label="Copy", callback=lambda: self.copy([self._menu_node]))
            dpg.add_menu_item(label="Delete", callback=lambda: self.delete_nodes([self._menu_node]))
            dpg.add_menu_item(label="Disconnect all", callback=lambda: self.disconnect_node(
                self._menu_node))
            dpg.add_menu_item(label="Reset params to defaults",
                              callback=lambda: self.reset_params(self._menu_node))
            dpg.add_separator()
            dpg.add_menu_item(label="Help", callback=lambda: self.node_help(self._menu_node))

    # --- the loop ---------------------------------------------------------------------------

    def run_loop(self) -> None:
        while dpg.is_dearpygui_running() and not self.closed:
            self.frame()
        self.close()

    def frame(self) -> None:
        """One frame: render, then run callbacks and per-frame work (all on this thread)."""
        if self.max_fps:
            rest = self._frame_started + 1.0 / self.max_fps - time.perf_counter()
            if rest > 0:
                time.sleep(rest)      # leave the CPU to training instead of spinning
        self._frame_started = time.perf_counter()
        dpg.render_dearpygui_frame()
        self.frames += 1
        jobs = dpg.get_callback_queue()
        if jobs:
            dpg.run_callbacks(jobs)
        self.tick()

    def tick(self) -> None:
        messages = self.runner.drain()
        if messages:
            self.run_panel.apply(messages)
            for message in messages:
                self._run_message(message)
        if self.runner.state == RUNNING:
            self.run_panel.set_edits_pending(self.history.revision != self.run_revision)
        self.editor.expire_highlights()
        self.dialogs.collect()
        if self._frame_all_in is not None:
            self._frame_all_in -= 1
            if self._frame_all_in <= 0:
                self._frame_all_in = None
                self.editor.frame_all()
        self.autosave()

    def pump(self, frames: int = 1) -> None:
        for _ in range(frames):
            self.frame()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.runner.shutdown()
        self.recovery.clear()
        dpg.destroy_context()

    # --- model changes ----------------------------------------------------------------------

    def execute(self, command: C.Command):
        try:
            return self.history.execute(command)
        except GraphError as exc:
            self.status(str(exc), error=True)
            return None

    def _on_history(self, history, action, command) -> None:
        if action != "saved":
            self.editor.sync(history.graph)
            self.revalidate()
            if action in ("undo", "redo") and command is not None:
                self.status(f"{action} {command.label}")
        dpg.configure_item(self.undo_item, enabled=history.can_undo,
                           label=f"Undo {history.undo_label}" if history.can_undo else "Undo")
        dpg.configure_item(self.redo_item, enabled=history.can_redo,
                           label=f"Redo {history.redo_label}" if history.can_redo else "Redo")
        self._update_title()

    def revalidate(self) -> list[Problem]:
        graph = self.history.graph
        base = self.document.base_dir
        self.problems = validate(graph, self.registry, check_files=True, base_dir=base) \
            if len(graph) else [Problem("the graph is empty: add nodes from the palette or open "
                                        "a template", "warning")]
        shown = self.problems + self.load_problems
        self.editor.mark(shown)
        self.problems_panel.show(shown)
        return self.problems

    def _update_title(self) -> None:
        title = f"{self.document.name}{' *' if self.history.dirty else ''} - {APP_NAME}"
        if title != self._title:
            self._title = title
            dpg.set_viewport_title(title)

    def status(self, text: str, error: bool = False) -> None:
        self.status_text = text
        self.status_error = error
        dpg.set_value(self.status_item, text)
        dpg.bind_item_theme(self.status_item, self.themes.status_error if error
                            else self.themes.status_ok)

    def undo(self) -> None:
        if self.history.undo() is None:
            self.status("nothing to undo")

    def redo(self) -> None:
        if self.history.redo() is None:
            self.status("nothing to redo")

    # --- editing ----------------------------------------------------------------------------

    def add_node(self, type_name: str, pos=None) -> str | None:
        if pos is None:
            cx, cy = self.editor.visible_center()
            step = (self._add_count % 6) * 30
            self._add_count += 1
            pos = (cx - 130 + step, cy - 80 + step)
        command = self.execute(C.AddNode(type_name, pos=pos))
        if command is None:
            return None
        self.editor.highlight([command.node_id], 1.0)
        self.status(f"added {command.node_id}: drag from its pins to connect it")
        return command.node_id

    def _add_from_menu(self, type_name: str) -> None:
        dpg.configure_item(self.add_menu, show=False)
        self.add_node(type_name, self._menu_pos)

    def _paste_from_menu(self) -> None:
        dpg.configure_item(self.add_menu, show=False)
        self.paste(at=self._menu_pos)

    def selection(self) -> list[str]:
        return self.editor.selected_nodes()

    def delete_selection(self) -> None:
        nodes = self.selection()
        links = [l for l in self.editor.selected_links() if l.src not in nodes and l.dst not in nodes]
        if not nodes and not links:
            self.status("nothing selected: click a node or link (drag to select several)")
            return
        commands = ([C.Disconnect(links)] if links else []) + ([C.RemoveNodes(nodes)] if nodes else [])
        label = ", ".join(filter(None, [f"{len(nodes)} node" + ("s" if len(nodes) != 1 else "")
                                        if nodes else "",
                                        f"{len(links)} link" + ("s" if len(links) != 1 else "")
                                        if links else ""]))
        if self.execute(C.Compound(commands, f"delete {label}")) is not None:
            self.editor.clear_selection()
            self.status(f"deleted {label} (Ctrl+Z brings them back)")

    def delete_nodes(self, node_ids) -> None:
        node_ids = [n for n in node_ids if n in self.history.graph.nodes]
        if node_ids and self.execute(C.RemoveNodes(node_ids)) is not None:
            self.status(f"deleted {', '.join(node_ids)}")

    def disconnect_node(self, node_id) -> None:
        links = [l for l in self.history.graph.links if node_id in (l.src, l.dst)]
        if links:
            self.execute(C.Disconnect(links))

    def reset_params(self, node_id) -> None:
        node = self.history.graph.nodes.get(node_id)
        if node is not None and node.params:
            self.execute(C.Compound([C.ResetParam(node_id, name) for name in list(node.params)],
                                    f"reset {node_id}"))

    def copy(self, node_ids=None) -> str | None:
        node_ids = node_ids or self.selection()
        if not node_ids:
            self.status("nothing selected to copy")
            return None
        self.clipboard = copy_nodes(self.history.graph, node_ids)
        try:
            dpg.set_clipboard_text(self.clipboard)
        except Exception:
            pass
        self.status(f"copied {len(node_ids)} node" + ("s" if len(node_ids) != 1 else ""))
        return self.clipboard

    def cut(self) -> None:
        nodes = self.selection()
        if self.copy(nodes):
            self.delete_nodes(nodes)

    def paste(self, text: str | None = None, at=None):
        if text is None:
            text = self.clipboard
            try:
                system = dpg.get_clipboard_text()
                if system and "clipig-nodes-graph" in system:
                    text = system
            except Exception:
                pass
        if at is None and dpg.is_item_hovered(self.editor.editor):
            at = self.editor.screen_to_model(dpg.get_mouse_pos(local=False))
        try:
            command = paste_command(text, at=at)
        except ProblemsError as exc:
            self.status(f"nothing to paste: {exc.problems[0].message}", error=True)
            return None
        if self.execute(command) is None:
            return None
        self.editor.highlight(command.new_ids)
        self.status(f"pasted {', '.join(command.new_ids)}")
        return command

    def duplicate(self, node_ids=None):
        node_ids = node_ids or self.selection()
        if not node_ids:
            self.status("nothing selected to duplicate")
            return None
        command = self.execute(duplicate_command(self.history.graph, node_ids))
        if command is not None:
            self.editor.highlight(command.new_ids)
            self.status(f"duplicated as {', '.join(command.new_ids)}")
        return command

    def rename_dialog(self, node_id) -> None:
        if node_id not in self.history.graph.nodes:
            return
        self.dialogs.prompt("Rename node", f"New id for '{node_id}' (letters, digits, _ and -):",
                            node_id, lambda new: self.rename(node_id, new.strip()))

    def rename(self, old: str, new: str) -> bool:
        if new == old:
            return True
        if self.execute(C.Rename(old, new)) is None:
            return False
        self.status(f"renamed {old} to {new}")
        return True

    def edit_description(self) -> None:
        self.dialogs.prompt("Graph description", "A line about this graph (shown in the "
                                                 "Templates menu):",
                            self.history.graph.description,
                            lambda text: self.execute(C.SetDescription(text)))

    def tidy_layout(self) -> None:
        laid = self.history.graph.copy()
        auto_layout(laid, self.registry)
        self.execute(C.MoveNodes({n.id: n.pos for n in laid}))
        self.history.seal()
        self._frame_all_in = 2

    def node_help(self, node_id) -> None:
        node = self.history.graph.nodes.get(node_id)
        node_type = self.registry.get(node.type) if node else None
        if node_type is None:
            return
        lines = [node_type.doc(), "", node_type.long_doc()] if node_type.long_doc() else [node_type.doc()]
        lines.append("")
        for p in node_type.param_list:
            lines.append(f"{p.name} ({p.describe_kind()}): {p.doc}")
        self.dialogs.info(node_type.name, "\n".join(lines))

    def browse_path(self, widget) -> None:
        def chosen(paths):
            path = paths[0]
            base = self.document.base_dir
            try:
                text = os.path.relpath(path, base) if base else str(path)
            except ValueError:
                text = str(path)
            widget.set_text(text)
        self.dialogs.choose_file(f"Choose {widget.param.name}", chosen,
                                 extensions=[(".png", "PNG"), (".jpg", "JPEG"), (".jpeg", "JPEG")],
                                 default_path=(self.document.base_dir or Path.cwd()) / "x")

    def on_problem(self, problem: Problem) -> None:
        if problem.node and self.editor.focus(problem.node):
            self.status(f"{problem.node}: {problem.message}", error=problem.is_error)
        else:
            self.status(problem.message, error=problem.is_error)

    # --- input ------------------------------------------------------------------------------

    @staticmethod
    def _down(*keys) -> bool:
        for key in keys:
            try:
                if dpg.is_key_down(key):
                    return True
            except Exception:
                continue
        return False

    def on_key(self, key) -> None:
        ctrl = self._down(dpg.mvKey_LControl, dpg.mvKey_RControl)
        shift = self._down(dpg.mvKey_LShift, dpg.mvKey_RShift)
        typing = bool(self.editing)
        if key == dpg.mvKey_F5:
            self.stop_run() if shift else self.start_run()
        elif key == dpg.mvKey_F6:
            self.update_run()
        elif ctrl and key == dpg.mvKey_S:
            self.save() if shift else self.save_image()
        elif typing or self.dialogs.busy:
            return          # text fields keep their own Ctrl+Z, Delete, copy and paste
        elif ctrl and key == dpg.mvKey_Z:
            self.redo() if shift else self.undo()
        elif ctrl and key == dpg.mvKey_Y:
            self.redo()
        elif ctrl and key == dpg.mvKey_C:
            self.copy()
        elif ctrl and key == dpg.mvKey_X:
            self.cut()
        elif ctrl and key == dpg.mvKey_V:
            self.paste()
        elif ctrl and key == dpg.mvKey_D:
            self.duplicate()
        elif ctrl and key == dpg.mvKey_N:
            self.new_document()
        elif ctrl and key == dpg.mvKey_O:
            self.open_dialog()
        elif key == dpg.mvKey_Delete or (key == dpg.mvKey_Back and not ctrl):
            self.delete_selection()
        elif key == dpg.mvKey_Home:
            self.editor.frame_all()

    def on_mouse_release(self) -> None:
        command = self.editor.poll_moves()
        if command is not None:
            self.history.seal()

    def on_right_click(self) -> None:
        if not dpg.is_item_hovered(self.editor.editor) or self.dialogs.busy:
            return
        if self.editor.hovered_node() is not None:
            return          # the node menu handles it
        mouse = dpg.get_mouse_pos(local=False)
        self._menu_pos = self.editor.screen_to_model(mouse)
        dpg.configure_item(self.add_menu, show=True, pos=mouse)

    def open_node_menu(self, item) -> None:
        node_id = self.editor.node_at(item)
        if node_id is None:
            return
        self._menu_node = node_id
        dpg.set_value(self.node_menu_title, node_id)
        dpg.configure_item(self.node_menu, show=True, pos=dpg.get_mouse_pos(local=False))

    # --- files ------------------------------------------------------------------------------

    def when_saved_or_discarded(self, action, what: str) -> None:
        """Run `action` now, or after asking what to do with unsaved changes."""
        if not self.history.dirty:
            action()
            return

        def save_then():
            if self.document.path is not None:
                if self.save():
                    action()
            else:
                self.save_as_dialog(then=action)

        self.dialogs.ask("Unsaved changes",
                         f"{self.document.name} has unsaved changes. Save them before {what}?",
                         [("Save", save_then), ("Discard", action), ("Cancel", None)])

    def new_document(self) -> None:
        self.when_saved_or_discarded(self._new, "starting a new graph")

    def _new(self) -> None:
        self._set_document(Graph(), files.Document(), [])
        self.status("new graph: add a pixels node, a target with features and a train node")

    def _set_document(self, graph: Graph, document: files.Document, problems, dirty=False) -> None:
        self.editor.clear()
        self.document = document
        self.load_problems = [p for p in problems if not p.is_error]
        self.history.reset(graph, dirty=dirty)
        self.recovery.clear()
        self._autosaved_revision = self.history.revision
        self._frame_all_in = 2

    def open_dialog(self) -> None:
        self.dialogs.choose_file("Open graph, PNG or CLIPig YAML", lambda paths: self.open_path(
            paths if len(paths) > 1 else paths[0]),
            extensions=[(".yaml", "graph or CLIPig YAML"), (".png", "PNG with a graph")],
            default_path=(self.document.base_dir or Path.cwd()) / "x", multiple=True)

    def import_dialog(self) -> None:
        self.dialogs.choose_file("Import CLIPig YAML (several are merged in order)",
                                 lambda paths: self.open_path(paths),
                                 extensions=[(".yaml", "CLIPig YAML"), (".yml", "CLIPig YAML")],
                                 default_path=(self.document.base_dir or Path.cwd()) / "x",
                                 multiple=True)

    def open_path(self, path, ask: bool = True, template: bool = False) -> None:
        action = lambda: self._open(path, template)          # noqa: E731
        if ask:
            self.when_saved_or_discarded(action, "opening another graph")
        else:
            action()

    def open_template(self, path) -> None:
        self.open_path(path, template=True)

    def _open(self, path, template: bool = False) -> bool:
        opened = files.open_file(path, self.registry, template=template)
        label = ", ".join(map(str, path)) if isinstance(path, (list, tuple)) else str(path)
        if not opened.ok:
            errors = "\n".join(str(p) for p in opened.problems[:20])
            self.dialogs.info("Cannot open", f"{label}:\n{errors}")
            self.status(f"cannot open {label}", error=True)
            return False
        self._set_document(opened.graph, opened.document, opened.problems)
        if not template:
            paths = path if isinstance(path, (list, tuple)) else [path]
            for p in paths:
                self.recent.add(p)
            self._fill_recent()
        warnings = [p for p in opened.problems if not p.is_error]
        kind = opened.document.kind
        note = {"png": " (the graph embedded in the image)", "legacy": " (imported CLIPig YAML)",
                "template": " (a template: Save asks for a new name)"}.get(kind, "")
        more = f"; {len(warnings)} conversion notes in Problems" if warnings else ""
        description = f" - {opened.graph.description}" if opened.graph.description else ""
        self.status(f"opened {label}{note}{more}{description}")
        return True

    def save(self) -> bool:
        if self.document.path is None:
            self.save_as_dialog()
            return False
        return self.save_to(self.document.path)

    def save_to(self, path) -> bool:
        try:
            written = files.save_file(self.history.graph, path)
        except ProblemsError as exc:
            self.status(f"cannot save: {exc.problems[0]}", error=True)
            return False
        except OSError as exc:
            self.status(f"cannot save {path}: {exc.strerror or exc}", error=True)
            return False
        self.document = files.Document(written, None, "graph")
        self.history.mark_saved()
        self.recovery.clear()
        self._autosaved_revision = self.history.revision
        self.recent.add(written)
        self._fill_recent()
        self.revalidate()
        self.status(f"saved {written}")
        return True

    def save_as_dialog(self, then=None) -> None:
        def chosen(paths):
            path = paths[0]
            if not path.name.endswith(SUFFIX):
                path = path.with_name(files.suggested_name(path) + SUFFIX)
            if path.exists() and path != self.document.path:
                self.dialogs.ask("Replace file?", f"{path} exists. Replace it?",
                                 [("Replace", lambda: self.save_to(path) and then and then()),
                                  ("Cancel", None)])
            elif self.save_to(path) and then:
                then()
        self.dialogs.choose_file("Save graph as", chosen, save=True,
                                 extensions=[(".yaml", "graph file")],
                                 default_path=self.document.suggested_path())

    def export_dialog(self) -> None:
        suggested = self.document.suggested_path()
        default = suggested.with_name(files.suggested_name(suggested) + ".yaml")

        def chosen(paths):
            path = paths[0]
            if path.exists():
                self.dialogs.ask("Replace file?", f"{path} exists. Replace it?",
                                 [("Replace", lambda: self.export_to(path)), ("Cancel", None)])
            else:
                self.export_to(path)
        self.dialogs.choose_file("Export CLIPig YAML", chosen, save=True,
                                 extensions=[(".yaml", "CLIPig YAML")], default_path=default)

    def export_to(self, path) -> list[Problem]:
        try:
            problems = files.export_legacy_file(self.history.graph, path, self.registry)
        except OSError as exc:
            self.status(f"cannot write {path}: {exc.strerror or exc}", error=True)
            return []
        errors = [p for p in problems if p.is_error]
        if errors:
            self.dialogs.info("Cannot export", "CLIPig YAML cannot hold this graph:\n"
                              + "\n".join(str(p) for p in errors[:20]))
            self.status("not exported", error=True)
        elif problems:
            self.dialogs.info("Exported with notes", f"wrote {path}; what CLIPig YAML cannot "
                              "express:\n" + "\n".join(str(p) for p in problems[:20]))
            self.status(f"exported {path} ({len(problems)} notes)")
        else:
            self.status(f"exported {path}")
        return problems

    def request_exit(self) -> None:
        """The window's close button and File > Quit: never drop unsaved changes unasked."""
        self.when_saved_or_discarded(self._quit, "quitting")

    def _quit(self) -> None:
        self._exit_requested = True
        self.runner.stop()
        dpg.stop_dearpygui()

    # --- autosave and recovery --------------------------------------------------------------

    def autosave(self, force: bool = False) -> None:
        """Every few seconds after a change: the recovery file holds the unsaved graph."""
        now = time.monotonic()
        if not force and (self.history.revision == self._autosaved_revision
                          or now - self._autosaved_at < self.autosave_interval):
            return
        self._autosaved_at = now
        self._autosaved_revision = self.history.revision
        if self.history.dirty:
            self.recovery.save(self.history.graph, self.document)
        else:
            self.recovery.clear()

    def check_recovery(self) -> bool:
        """Offer to restore what a crashed editor autosaved."""
        orphans = self.recovery.orphans()
        if not orphans:
            return False
        latest = orphans[0]

        def restore():
            try:
                graph = latest.load()
            except ProblemsError as exc:
                self.status(f"cannot restore: {exc.problems[0]}", error=True)
                return
            path = latest.path if latest.path and latest.path.is_file() else None
            self._set_document(graph, files.Document(path, None, "graph" if path else None), [],
                               dirty=True)
            for orphan in orphans:
                orphan.remove()
            self.autosave(force=True)
            self.status(f"restored {latest.describe()}: save it to keep it")

        def discard():
            for orphan in orphans:
                orphan.remove()
            self.status("discarded the recovered changes")

        self.dialogs.ask("Restore unsaved changes?",
                         "clipig-nodes did not close properly last time. Restore the unsaved "
                         f"changes of {latest.describe()}?",
                         [("Restore", restore), ("Discard", discard)])
        return True

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

    def _run_message(self, message) -> None:
        if message.kind == "started":
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

    def save_image(self):
        pixels = self.run_panel.pixels
        if pixels is None:
            self.status("no image yet: Start a run first (Ctrl+Shift+S saves the graph)")
            return None
        from PIL import Image

        from ..graph.pngmeta import reserve_path, save_png

        graph = (self.runner.graph or self.history.graph).copy()      # what made the image
        # where it goes is the editor's Train output (a place, not part of the image's recipe)
        train = next((n for n in self.history.graph if n.type == "train"), None)
        output = train.params.get("output") if train is not None else None
        source = self.document.path or self.document.origin or "clipig-nodes.png"
        wanted = output_path(output if isinstance(output, str) else None, source)
        if not wanted.is_absolute() and self.document.path is not None:
            wanted = self.document.path.parent / wanted
        try:
            wanted.parent.mkdir(parents=True, exist_ok=True)
            path = reserve_path(wanted)
            save_png(Image.fromarray(pixels, "RGB"), path, graph, overwrite_reserved=True)
        except (OSError, ProblemsError, ValueError) as exc:
            self.status(f"cannot save the image: {exc}", error=True)
            return None
        self.status(f"saved image {path} (with the graph inside: open it to get the graph back)")
        return path

    # --- screenshots ------------------------------------------------------------------------

    def screenshot(self, path) -> Path:
        """Save what the window shows (after the next rendered frame)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        dpg.output_frame_buffer(file=str(path))
        for _ in range(3):
            self.frame()
            if path.is_file() and path.stat().st_size:
                break
        return path

