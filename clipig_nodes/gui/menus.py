"""Menus and keys: the menu bar, the canvas and node right-click menus, the shortcuts.

A mixin of App: it builds items and routes keys and clicks to App's actions.
"""

from __future__ import annotations

import time

import dearpygui.dearpygui as dpg

from . import files
from .inputs_panel import InputsWindow, expose, fill_expose_menu, open_template_asking
from .palette import CATEGORY_TITLES, grouped

# one shortcut a line: columns of spaces do not line up in a proportional font
SHORTCUT_LIST = (
    ("Ctrl+Z", "undo"), ("Ctrl+Y, Ctrl+Shift+Z", "redo"),
    ("Ctrl+C / Ctrl+X / Ctrl+V", "copy / cut / paste nodes (paste at the mouse, selected)"),
    ("Ctrl+D", "duplicate"), ("Delete", "delete the selected nodes and links"),
    ("Ctrl+N / Ctrl+O", "new / open"), ("Ctrl+Shift+S", "save the graph"),
    ("Ctrl+S", "save the image (PNG with the graph, never over a file)"),
    ("F5 / Shift+F5 / F6", "start / stop / update the running training"),
    ("Home", "fit the whole graph on screen"),
    ("Wheel, Ctrl + / Ctrl -", "zoom about the mouse (25% to 200%); Ctrl+0: 100%"),
    ("Double-click or Space on the canvas", "search node types, Enter adds the first"),
    ("Right-click the canvas", "add a node there"),
    ("Right-click a node", "node menu: rename, duplicate, bypass, preview, help ..."),
    ("Ctrl+click a link", "detach it"),
    ("Drag on empty canvas", "box-select; middle drag: pan"),
)
SHORTCUTS = "\n".join(f"{keys}:  {what}" for keys, what in SHORTCUT_LIST)


class MenusAndKeys:
    def _menus(self) -> None:
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                dpg.add_menu_item(label="New", shortcut="Ctrl+N", callback=lambda: self.new_document())
                dpg.add_menu_item(label="New from template...",
                                  callback=lambda: self.gallery.show())
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
                dpg.add_menu_item(label="Group selected nodes...", shortcut="Ctrl+G",
                                  callback=lambda: self.group_dialog())
                dpg.add_menu_item(label="Reroute selected links",
                                  callback=lambda: self.reroute_selected_links())
                dpg.add_menu_item(label="Tidy layout", callback=lambda: self.tidy_layout())
                dpg.add_menu_item(label="Graph description...",
                                  callback=lambda: self.edit_description())
                dpg.add_menu_item(label="Graph inputs...", callback=lambda: self.show_inputs())
            with dpg.menu(label="View"):
                dpg.add_menu_item(label="Fit whole graph", shortcut="Home",
                                  callback=lambda: self.editor.frame_all())
                dpg.add_menu_item(label="Zoom in", shortcut="Ctrl +  / wheel",
                                  callback=lambda: self.zoom_by(1))
                dpg.add_menu_item(label="Zoom out", shortcut="Ctrl -  / wheel",
                                  callback=lambda: self.zoom_by(-1))
                dpg.add_menu_item(label="Zoom 100%", shortcut="Ctrl+0",
                                  callback=lambda: self.zoom_to(1.0))
            with dpg.menu(label="Templates"):
                for template in files.templates(self.templates_dir):
                    item = dpg.add_menu_item(label=template.name, user_data=template.path,
                                             callback=lambda s, a, u: open_template_asking(self, u))
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

    def show_inputs(self) -> None:
        if getattr(self, "inputs_window", None) is None:
            self.inputs_window = InputsWindow(self.history, self.execute, self.registry)
        self.inputs_window.show()

    def _node_menu(self) -> None:
        """Right-click a node: what can be done to it."""
        act = lambda fn: lambda: self._node_action(fn)          # noqa: E731
        with dpg.window(popup=True, show=False, no_title_bar=True, autosize=True,
                        min_size=(160, 20)) as self.node_menu:
            self.node_menu_title = dpg.add_text("", color=(170, 175, 190))
            dpg.add_separator()
            self.node_menu_items = {
                "rename": dpg.add_menu_item(label="Rename...", callback=act(self.rename_dialog)),
                "duplicate": dpg.add_menu_item(label="Duplicate", callback=act(
                    lambda n: self.duplicate([n]))),
                "copy": dpg.add_menu_item(label="Copy", callback=act(lambda n: self.copy([n]))),
                "delete": dpg.add_menu_item(label="Delete", callback=act(
                    lambda n: self.delete_nodes([n]))),
                "disconnect": dpg.add_menu_item(label="Disconnect all",
                                                callback=act(self.disconnect_node)),
                "reset": dpg.add_menu_item(label="Reset params to defaults",
                                           callback=act(self.reset_params)),
                "bypass": dpg.add_menu_item(label="Bypass (active off)", check=True,
                                            callback=act(self.toggle_bypass)),
            }
            self.preview_menu = dpg.add_menu(label="Preview output")
            self.expose_menu = dpg.add_menu(label="Expose as input")
            dpg.add_separator()
            self.node_menu_items["help"] = dpg.add_menu_item(label="Help",
                                                             callback=act(self.node_help))

    def _group_menu(self) -> None:
        """Right-click a group's title bar."""
        act = lambda fn: lambda: self._group_action(fn)          # noqa: E731
        with dpg.window(popup=True, show=False, no_title_bar=True, autosize=True,
                        min_size=(160, 20)) as self.group_menu:
            self.group_menu_title = dpg.add_text("", color=(170, 175, 190))
            dpg.add_separator()
            self.group_menu_items = {
                "rename": dpg.add_menu_item(label="Rename...", callback=act(self.rename_group)),
                "color": dpg.add_menu_item(label="Next colour", callback=act(self.recolor_group)),
                "add": dpg.add_menu_item(label="Add selected nodes",
                                         callback=act(lambda i: self.regroup(i, add=True))),
                "remove": dpg.add_menu_item(label="Remove selected nodes",
                                            callback=act(lambda i: self.regroup(i, add=False))),
                "ungroup": dpg.add_menu_item(label="Ungroup", callback=act(self.ungroup)),
            }

    def open_group_menu(self, index: int) -> None:
        self._menu_group = index
        dpg.set_value(self.group_menu_title, self.history.graph.groups[index].title)
        dpg.configure_item(self.group_menu, show=True, pos=dpg.get_mouse_pos(local=False))

    def _group_action(self, action) -> None:
        dpg.configure_item(self.group_menu, show=False)
        if self._menu_group is not None and self._menu_group < len(self.history.graph.groups):
            action(self._menu_group)

    def _node_action(self, action) -> None:
        dpg.configure_item(self.node_menu, show=False)
        if self._menu_node is not None:
            action(self._menu_node)


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
        if self.search.shown:
            if key in (dpg.mvKey_Return, dpg.mvKey_NumPadEnter):
                self.search.accept()
            elif key == dpg.mvKey_Escape:
                self.search.close()
            return
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
        elif ctrl and key == dpg.mvKey_G:
            self.group_dialog()
        elif ctrl and key == dpg.mvKey_N:
            self.new_document()
        elif ctrl and key == dpg.mvKey_O:
            self.open_dialog()
        elif key == dpg.mvKey_Delete or (key == dpg.mvKey_Back and not ctrl):
            self.delete_selection()
        elif key == dpg.mvKey_Home:
            self.editor.frame_all()
        elif ctrl and key in (dpg.mvKey_Plus, dpg.mvKey_Add):
            self.zoom_by(1)
        elif ctrl and key in (dpg.mvKey_Minus, dpg.mvKey_Subtract):
            self.zoom_by(-1)
        elif ctrl and key in (dpg.mvKey_0, dpg.mvKey_NumPad0):
            self.zoom_to(1.0)
        elif key == dpg.mvKey_Spacebar and dpg.is_item_hovered(self.editor.editor):
            self.open_canvas_search()

    def _zoom_anchor(self):
        """The mouse when it is over the canvas, else the canvas's centre."""
        return dpg.get_mouse_pos(local=False) if dpg.is_item_hovered(self.editor.editor) else None

    def zoom_by(self, steps: int, anchor=None) -> None:
        self.editor.zoom_step(steps, anchor or self._zoom_anchor())
        self.status(f"zoom {round(self.editor.zoom * 100)}%  (wheel, Ctrl +/-, Ctrl 0: 100%, "
                    "Home: fit)")

    def zoom_to(self, zoom: float) -> None:
        self.editor.set_zoom(zoom, self._zoom_anchor())
        self.status(f"zoom {round(self.editor.zoom * 100)}%")

    def on_left_click(self) -> None:
        """A click on empty canvas deselects, also what the editor selected itself; on a
        group's title bar it starts dragging the group."""
        if (dpg.is_item_hovered(self.editor.editor) and not self.dialogs.busy
                and self.editor.hovered_node() is None):
            self.editor.drop_own_selection()
            mouse = dpg.get_mouse_pos(local=False)
            group = self.group_overlay.title_at(mouse)
            if group is not None:
                self.group_overlay.start_drag(group, mouse)
        if (self.search.shown and not dpg.is_item_hovered(self.search.window)
                and time.monotonic() - self.search.opened_at > 0.4):     # not its own click
            self.search.close()

    def on_double_click(self) -> None:
        if (dpg.is_item_hovered(self.editor.editor) and not self.dialogs.busy
                and self.editor.hovered_node() is None):
            self.open_canvas_search()

    def on_wheel(self, delta) -> None:
        if self.dialogs.busy or not dpg.is_item_hovered(self.editor.editor) or self.editing:
            return
        self.zoom_by(1 if delta > 0 else -1, dpg.get_mouse_pos(local=False))

    def on_mouse_release(self) -> None:
        dragged = self.group_overlay.drag is not None
        self.group_overlay.end_drag()
        command = self.editor.poll_moves()
        if command is not None:
            self.history.seal()
        if dragged:
            self.editor.clear_selection()      # the canvas box-selected under the title bar

    def on_mouse_drag(self) -> None:
        if self.group_overlay.drag is not None:
            self.group_overlay.drag_to(dpg.get_mouse_pos(local=False))

    def on_right_click(self) -> None:
        if not dpg.is_item_hovered(self.editor.editor) or self.dialogs.busy:
            return
        node_id = self.editor.hovered_node()
        if node_id is not None:
            self.open_node_menu_for(node_id)
            return
        group = self.group_overlay.title_at(dpg.get_mouse_pos(local=False))
        if group is not None:
            self.open_group_menu(group)
            return
        mouse = dpg.get_mouse_pos(local=False)
        self._menu_pos = self.editor.screen_to_model(mouse)
        dpg.configure_item(self.add_menu, show=True, pos=mouse)

    def open_node_menu(self, item) -> None:
        node_id = self.editor.node_at(item)
        if node_id is not None:
            self.open_node_menu_for(node_id)

    def open_node_menu_for(self, node_id: str) -> None:
        node = self.history.graph.nodes.get(node_id)
        if node is None:
            return
        self._menu_node = node_id
        node_type = self.registry.get(node.type)
        dpg.set_value(self.node_menu_title, f"{node_id}  ({node.type})")
        can_bypass = node_type is not None and node_type.param("active") is not None
        dpg.configure_item(self.node_menu_items["bypass"], enabled=can_bypass)
        dpg.set_value(self.node_menu_items["bypass"], node.params.get("active") is False)
        fill_expose_menu(self.expose_menu, self.history.graph, self.registry, node_id,
                         lambda param: expose(self.history.graph, self.execute, self.registry,
                                              node_id, param))
        dpg.delete_item(self.preview_menu, children_only=True)
        outputs = [s.name for s in node_type.outputs] if node_type is not None else []
        for name in outputs:
            dpg.add_menu_item(label=name, parent=self.preview_menu, user_data=name,
                              callback=lambda s, a, u: self._node_action(
                                  lambda n: self.request_preview(n, u)))
        dpg.configure_item(self.preview_menu, enabled=bool(outputs))
        dpg.configure_item(self.node_menu, show=True, pos=dpg.get_mouse_pos(local=False))

