"""The editor window: panels, the main loop and graph editing.

Menus and keys (gui.menus), documents (gui.document_actions) and run control
(gui.run_control) are mixins kept in their own modules.

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
from ..graph.layout import auto_layout, free_spot
from ..graph.model import Graph, GraphError
from ..graph.validate import validate
from ..problems import Problem, ProblemsError
from ..registry import default_registry
from . import files
from .canvas_search import CanvasSearch, wiring
from .dialogs import Dialogs
from .display import window_placement
from .editor import EditorView
from .document_actions import DocumentActions
from .gallery import Gallery
from .groups import GroupOverlay, next_color
from .inputs_panel import open_template_asking
from .menus import MenusAndKeys
from .palette import Palette
from .preview_window import PreviewWindow
from .problems import ProblemsPanel
from .run_panel import RunPanel
from .run_control import RunControl
from .runner import RUNNING, Runner
from .theme import BACKGROUND, Themes, load_fonts
from .zoom import BASE_FONT, ZoomStyles

APP_NAME = "clipig-nodes"


class App(MenusAndKeys, DocumentActions, RunControl):
    def __init__(self, path=None, *, run_options: dict | None = None, state_dir=None,
                 registry=None, width: int = 1600, height: int = 960, offer_recovery: bool = True,
                 autosave_interval: float = 3.0, vsync: bool = True, templates_dir=None,
                 max_fps: float | None = 60.0, warm_up: bool = False,
                 screen: tuple[int, int] | None = None):
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
        self._menu_pos = (0.0, 0.0)
        self._search_pos = (0.0, 0.0)
        self._search_selected: list[str] = []
        self._menu_node: str | None = None
        self._menu_group: int | None = None
        self._frame_all_in: int | None = None
        self._show_new: tuple[int, list[str]] | None = None
        self._exit_requested = False
        self.closed = False

        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        self.themes = Themes()
        self.fonts = load_fonts()
        self.zoom_styles = ZoomStyles(self.fonts.get("ui_file"))
        if self.fonts.get("ui") is not None:
            self.zoom_styles.fonts[BASE_FONT] = self.fonts["ui"]      # the 100% size
        self._handlers()
        self.dialogs = Dialogs(self.text_handlers)
        self._build()
        x, y, width, height = window_placement(width, height, screen)
        dpg.create_viewport(title=APP_NAME, width=width, height=height, x_pos=x, y_pos=y,
                            disable_close=True, vsync=vsync, clear_color=(*BACKGROUND, 255))
        dpg.set_exit_callback(lambda: self.request_exit())
        dpg.setup_dearpygui()
        dpg.show_viewport()
        self.group_overlay = GroupOverlay(self.editor)       # draws on the viewport itself
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
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Left,
                                        callback=lambda: self.on_left_click())
            dpg.add_mouse_drag_handler(button=dpg.mvMouseButton_Left,
                                       callback=lambda: self.on_mouse_drag())
            dpg.add_mouse_wheel_handler(callback=lambda s, delta: self.on_wheel(delta))
            dpg.add_mouse_double_click_handler(button=dpg.mvMouseButton_Left,
                                               callback=lambda: self.on_double_click())
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
                                                 self.node_handlers, self.browse_path,
                                                 styles=self.zoom_styles,
                                                 on_long_edit=self.edit_long_text)
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
        self._group_menu()
        self.preview_window = PreviewWindow()
        # opens as the Templates menu does: asking for the template's inputs
        self.gallery = Gallery(lambda path: open_template_asking(self, path), self.templates_dir)
        self.search = CanvasSearch(self.registry, self._add_from_search, self.text_handlers)

    def _fit_window(self) -> None:
        dpg.configure_item(self.window, pos=(0, 0), width=dpg.get_viewport_client_width(),
                           height=dpg.get_viewport_client_height())

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
        self.editor.rendered()
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
        self.editor.tick()
        self.run_panel.spin()
        self.group_overlay.draw()
        self.dialogs.collect()
        if self._show_new is not None:
            frames, ids = self._show_new
            self._show_new = (frames - 1, ids) if frames > 1 else None
            if frames == 1 and set(ids) & set(self.editor.outside()):
                self.editor.frame_all()
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
        """Add a node at `pos`, or at the mouse over the canvas, or the view's centre;
        moved on until it covers no other node's corner."""
        if pos is None:
            if dpg.is_item_hovered(self.editor.editor):
                pos = self.editor.screen_to_model(dpg.get_mouse_pos(local=False))
            else:
                cx, cy = self.editor.visible_center()
                pos = (cx - 130, cy - 80)
        pos = free_spot(self.history.graph, pos)
        command = self.execute(C.AddNode(type_name, pos=pos))
        if command is None:
            return None
        self.editor.highlight([command.node_id], 1.0)
        self.status(f"added {command.node_id}: drag from its pins to connect it")
        return command.node_id

    def open_canvas_search(self) -> None:
        """The search box at the mouse; what is picked lands there."""
        mouse = dpg.get_mouse_pos(local=False)
        self._search_pos = self.editor.screen_to_model(mouse)
        self._search_selected = self.selection()
        self.search.open(mouse)

    def _add_from_search(self, type_name: str) -> str | None:
        node_id = self.add_node(type_name, self._search_pos)
        if node_id is not None and len(self._search_selected) == 1 \
                and self._search_selected[0] in self.history.graph.nodes:
            command = wiring(self.history.graph, self.registry, self._search_selected[0], node_id)
            if command is not None:
                self.execute(command)
                self.history.seal()
                self.status(f"added {node_id}, connected {command.link}")
        return node_id

    def edit_long_text(self, widget) -> None:
        """A text param (a prompt) in a multi-line editor."""
        self.dialogs.prompt(f"{widget.node_id}: {widget.param.name}", widget.param.doc or "",
                            "" if widget.value is None else str(widget.value),
                            lambda text: widget.set_text(text.replace("\n", " ").strip()),
                            multiline=True)

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

    def toggle_bypass(self, node_id) -> None:
        """`active` off (the node is skipped as if absent), or back on."""
        node = self.history.graph.nodes.get(node_id)
        if node is None:
            return
        if node.params.get("active") is False:
            self.execute(C.ResetParam(node_id, "active"))
            self.status(f"{node_id} is active again")
        else:
            self.execute(C.SetParam(node_id, "active", False))
            self.status(f"{node_id} bypassed: skipped as if it were not there")
        self.history.seal()

    # --- groups and reroutes ---------------------------------------------------------------

    def group_dialog(self) -> None:
        nodes = self.selection()
        if not nodes:
            self.status("select the nodes to frame first (drag a box around them)")
            return
        self.dialogs.prompt("Group", f"A title for the frame around {len(nodes)} node"
                            + ("s" if len(nodes) != 1 else "") + " (e.g. views, losses):",
                            "views", lambda title: self.group(nodes, title.strip() or "group"))

    def group(self, nodes, title: str, color=None) -> bool:
        graph = self.history.graph
        if color is None:
            color = next_color(graph.groups[-1].color) if graph.groups else next_color(None)
        if self.execute(C.AddGroup(title, nodes, color)) is None:
            return False
        self.status(f"grouped {len(nodes)} nodes as '{title}': drag its title bar to move "
                    "them, right-click it for its menu")
        return True

    def rename_group(self, index: int) -> None:
        group = self.history.graph.groups[index]
        self.dialogs.prompt("Rename group", "New title:", group.title,
                            lambda title: self.execute(C.EditGroup(index, title=title.strip())))

    def recolor_group(self, index: int) -> None:
        self.execute(C.EditGroup(index, color=next_color(self.history.graph.groups[index].color)))

    def regroup(self, index: int, add: bool) -> None:
        group, chosen = self.history.graph.groups[index], self.selection()
        nodes = ([*group.nodes, *chosen] if add
                 else [n for n in group.nodes if n not in chosen])
        self.execute(C.EditGroup(index, nodes=nodes))

    def ungroup(self, index: int) -> None:
        self.execute(C.RemoveGroup(index))

    def reroute_selected_links(self) -> list[str]:
        """A reroute dot in the middle of each selected link (drag it to route the link)."""
        links = self.editor.selected_links()
        if not links:
            self.status("select a link first (click it), then Edit > Reroute selected links")
            return []
        graph, commands = self.history.graph.copy(), []
        for link in links:
            a, b = graph.nodes[link.src].pos, graph.nodes[link.dst].pos
            command = C.insert_reroute_command(graph, self.registry, link,
                                               ((a[0] + b[0]) / 2 + 120, (a[1] + b[1]) / 2 + 40))
            command.do(graph)           # the next link's ids see this one's dot
            commands.append(command)
        if self.execute(C.Compound(commands, "reroute")) is None:
            return []
        dots = [c.commands[0].node_id for c in commands]
        self.editor.select(dots)
        self.status(f"added {', '.join(dots)}: drag the dot to route the link")
        return dots

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
        self.editor.select(command.new_ids)
        self._show_new = (3, list(command.new_ids))      # fit, if they landed off screen
        self.status(f"pasted {', '.join(command.new_ids)} (selected: Delete removes them)")
        return command

    def duplicate(self, node_ids=None):
        node_ids = node_ids or self.selection()
        if not node_ids:
            self.status("nothing selected to duplicate")
            return None
        command = self.execute(duplicate_command(self.history.graph, node_ids))
        if command is not None:
            self.editor.select(command.new_ids)
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

