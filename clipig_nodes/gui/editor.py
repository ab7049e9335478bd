"""The node editor view: Dear PyGui nodes, pins and links drawn from the graph model.

The view never edits the graph. It reports what the user did (a link dragged,
a link detached, nodes moved, a param typed) as commands through `execute`, and
`sync(graph)` brings the drawing in line with the model after every change
(adding, removing and updating only what differs, so typing keeps its focus).

A link is checked before it is made (graph.connect.link_problem): a refused one
is never drawn and its reason goes to the status bar; a link into a single input
that already has one replaces it (one undo step).

Positions: a node's editor position is the model's `pos` times the zoom plus a
view offset, so that "show this node", "fit" and zooming can bring any part of the
graph into view (Dear PyGui has neither a panning call nor zoom: gui.zoom); moves
are read back when the mouse button is released.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import dearpygui.dearpygui as dpg

from ..graph import commands as C
from ..graph.model import Graph, Link
from ..graph.reroute import is_reroute
from ..problems import Problem
from . import zoom as Z
from .widgets import RESET, WIDTH, ParamWidget, is_long_text

HIGHLIGHT_SECONDS = 2.5
SCHEDULE = ("active", "start", "end")     # folded away under one line in each node


@dataclass
class NodeView:
    node_id: str
    type_name: str
    item: int
    category: str | None
    inputs: dict[str, int] = field(default_factory=dict)     # socket -> attribute item
    outputs: dict[str, int] = field(default_factory=dict)
    params: dict[str, ParamWidget] = field(default_factory=dict)
    output_texts: dict[str, int] = field(default_factory=dict)
    params_attr: int | None = None
    problem_text: int | None = None
    problem_tooltip: int | None = None
    state: str = "ok"


def node_title(node_id: str, type_name: str) -> str:
    return node_id if node_id == type_name else f"{node_id}  ({type_name})"


class EditorView:
    def __init__(self, parent, registry, themes, execute: Callable[[C.Command], object],
                 status: Callable[..., None], widget_handlers=None, node_handlers=None,
                 on_browse: Callable | None = None, styles: Z.ZoomStyles | None = None,
                 on_long_edit: Callable | None = None):
        self.registry, self.themes = registry, themes
        self.execute, self.status = execute, status
        self.widget_handlers, self.node_handlers, self.on_browse = (widget_handlers, node_handlers,
                                                                    on_browse)
        self.graph: Graph | None = None
        self.nodes: dict[str, NodeView] = {}
        self.links: dict[Link, int] = {}
        self.attributes: dict[int, tuple[str, str, bool]] = {}   # attr item -> (node, socket, output)
        self.offset = (0.0, 0.0)
        self.zoom = 1.0
        self.styles, self.window, self.on_long_edit = styles, parent, on_long_edit
        self._fit_checks = 0             # frames left to check that a fit shows every node
        self._moved = False              # nodes moved since the last frame was drawn
        self.own_selection: set[str] = set()
        self._last_delta: tuple[float, float] | None = None
        self.highlighted: dict[str, float] = {}                  # node -> until (monotonic)
        self.problems: list[Problem] = []
        self.editor = dpg.add_node_editor(parent=parent, callback=self.on_link,
                                          delink_callback=self.on_delink, minimap=True,
                                          minimap_location=dpg.mvNodeMiniMap_Location_BottomRight,
                                          width=-1, height=-1)

    # --- model -> view ---------------------------------------------------------------------

    def sync(self, graph: Graph) -> None:
        """Make the drawing show `graph` (called after every change)."""
        self.graph = graph
        for node_id in [n for n, view in self.nodes.items()
                        if n not in graph.nodes or graph.nodes[n].type != view.type_name]:
            self._delete_node(node_id)
        for node in graph:
            view = self.nodes.get(node.id)
            if view is None:
                self._create_node(node)
                continue
            for name, widget in view.params.items():
                widget.show(node.params.get(name))
            want = self._grid(node.pos)
            have = dpg.get_item_pos(view.item)
            if abs(have[0] - want[0]) > 0.5 or abs(have[1] - want[1]) > 0.5:
                self.screen_offset()
                self._moved = True
                dpg.set_item_pos(view.item, want)
        for link in [l for l in self.links if l not in graph.links]:
            if dpg.does_item_exist(self.links[link]):
                dpg.delete_item(self.links[link])
            del self.links[link]
        for link in graph.links:
            if link not in self.links:
                self._create_link(link)

    def _grid(self, pos) -> list[float]:
        return [pos[0] * self.zoom + self.offset[0], pos[1] * self.zoom + self.offset[1]]

    def _create_node(self, node) -> None:
        node_type = self.registry.get(node.type)
        category = node_type.category if node_type else None
        title = node_title(node.id, node.type) + ("" if node_type else "  - unknown type")
        dot = is_reroute(node.type)          # a reroute: a small node with two pins
        if dot:
            title = "o"
        item = dpg.add_node(label=title, parent=self.editor, pos=self._grid(node.pos),
                            user_data=node.id)
        view = NodeView(node.id, node.type, item, category)
        self.nodes[node.id] = view
        if self.node_handlers is not None:
            dpg.bind_item_handler_registry(item, self.node_handlers)
        if node_type is not None:
            for socket in node_type.outputs:
                attr = dpg.add_node_attribute(parent=item, attribute_type=dpg.mvNode_Attr_Output,
                                              shape=dpg.mvNode_PinShape_TriangleFilled)
                text = dpg.add_text("" if dot else socket.name, parent=attr,
                                    indent=0 if dot else self._output_indent(node_type, socket.name))
                view.output_texts[socket.name] = text
                self._socket_tooltip(text, socket, "output")
                self._pin(attr, socket.type)
                view.outputs[socket.name] = attr
                self.attributes[attr] = (node.id, socket.name, True)
            for socket in node_type.inputs:
                shape = dpg.mvNode_PinShape_QuadFilled if socket.multi else dpg.mvNode_PinShape_CircleFilled
                attr = dpg.add_node_attribute(parent=item, attribute_type=dpg.mvNode_Attr_Input,
                                              shape=shape)
                label = socket.name + (" (many)" if socket.multi else "") + \
                    ("" if socket.required else " (optional)")
                text = dpg.add_text("" if dot else label, parent=attr)
                self._socket_tooltip(text, socket, "input")
                self._pin(attr, socket.type)
                view.inputs[socket.name] = attr
                self.attributes[attr] = (node.id, socket.name, False)
        status = dpg.add_node_attribute(parent=item, attribute_type=dpg.mvNode_Attr_Static)
        # wrapped narrower than the fields: a warning adds lines, never width
        view.problem_text = dpg.add_text("", parent=status, show=False,
                                         wrap=round(WIDTH * self.zoom))
        with dpg.tooltip(view.problem_text):
            view.problem_tooltip = dpg.add_text("", wrap=420)
        if node_type is not None and node_type.param_list:
            params = dpg.add_node_attribute(parent=item, attribute_type=dpg.mvNode_Attr_Static,
                                            show=self.zoom >= Z.DETAIL_ZOOM)
            view.params_attr = params
            fold = all(node_type.param(name) is not None for name in SCHEDULE)
            folded = None
            for param in node_type.param_list:
                parent = params
                if fold and param.name in SCHEDULE:
                    if folded is None:
                        folded = dpg.add_tree_node(
                            label="active, start, end", parent=params,
                            default_open=any(name in node.params for name in SCHEDULE))
                    parent = folded
                view.params[param.name] = ParamWidget(
                    parent, node.id, param, node.params.get(param.name), self.on_param_edit,
                    self.themes, self.widget_handlers, self.on_browse, zoom=self.zoom,
                    on_long_edit=self.on_long_edit)
        self._apply_node_theme(view)
        self._mark_node(view)

    def _output_indent(self, node_type, name: str) -> int:
        """Right-align an output's label over the node's widest row (estimated)."""
        widest = 0
        for param in node_type.param_list:
            widest = max(widest, (180 + 7 * len(param.name)) if not is_long_text(param)
                         else 240 + 7 * len(param.name))
        for socket in node_type.inputs:
            widest = max(widest, 7 * (len(socket.name) + 11))
        return max(0, round((widest - 8 * len(name) - 12) * self.zoom))

    @staticmethod
    def _socket_tooltip(text, socket, direction) -> None:
        with dpg.tooltip(text):
            many = ", any number of links" if socket.multi else ""
            optional = ", optional" if direction == "input" and not socket.required else ""
            dpg.add_text(f"{direction} {socket.name}: {socket.type}{many}{optional}")
            if socket.doc:
                dpg.add_text(socket.doc, wrap=360)

    def _pin(self, attr, socket_type) -> None:
        if self.themes is not None and socket_type in self.themes.pins_in:
            dpg.bind_item_theme(attr, self.themes.pins_in[socket_type])

    def _delete_node(self, node_id: str) -> None:
        view = self.nodes.pop(node_id)
        for attr in (*view.inputs.values(), *view.outputs.values()):
            self.attributes.pop(attr, None)
        for link in [l for l in self.links if node_id in (l.src, l.dst)]:
            item = self.links.pop(link)
            if dpg.does_item_exist(item):
                dpg.delete_item(item)
        dpg.delete_item(view.item)
        self.highlighted.pop(node_id, None)
        self.own_selection.discard(node_id)

    def _create_link(self, link: Link) -> None:
        src, dst = self.nodes.get(link.src), self.nodes.get(link.dst)
        if src is None or dst is None:
            return
        out, into = src.outputs.get(link.src_socket), dst.inputs.get(link.dst_socket)
        if out is None or into is None:
            return          # a socket that does not exist: validation reports it
        item = dpg.add_node_link(out, into, parent=self.editor, user_data=link)
        node_type = self.registry.get(self.graph.nodes[link.src].type)
        socket = node_type.output(link.src_socket) if node_type else None
        if self.themes is not None and socket is not None:
            dpg.bind_item_theme(item, self.themes.links[socket.type])
        self.links[link] = item

    # --- problems ---------------------------------------------------------------------------

    def mark(self, problems: list[Problem]) -> None:
        """Show validation results: node title colour, a problem line with the messages
        on hover, invalid param fields framed in red."""
        self.problems = list(problems)
        for view in self.nodes.values():
            self._mark_node(view)

    def _mark_node(self, view: NodeView) -> None:
        mine = [p for p in self.problems if p.node == view.node_id]
        errors = [p for p in mine if p.is_error]
        warnings = [p for p in mine if not p.is_error]
        state = "error" if errors else "warning" if warnings else "ok"
        if view.node_id in self.highlighted:
            state = "highlight"
        if view.node_id in self.own_selection:
            state = "selected"
        if state != view.state:
            view.state = state
            self._apply_node_theme(view)
        by_param = {}
        for p in errors:
            if p.param in view.params:
                by_param.setdefault(p.param, p.message)
        for name, widget in view.params.items():
            widget.flag(by_param.get(name))
        if mine:
            parts = []
            if errors:
                parts.append(f"{len(errors)} error" + ("s" if len(errors) > 1 else ""))
            if warnings:
                parts.append(f"{len(warnings)} warning" + ("s" if len(warnings) > 1 else ""))
            first = (errors or warnings)[0]
            where = f"{first.param}: " if first.param else ""
            line = f"(!) {', '.join(parts)}: {where}{first.message}"
            dpg.set_value(view.problem_text, line if len(line) < 60 else line[:57] + "...")
            dpg.configure_item(view.problem_text, show=True,
                               color=(235, 95, 95) if errors else (235, 175, 60))
            dpg.set_value(view.problem_tooltip, "\n".join(
                ("error: " if p.is_error else "warning: ") + (f"{p.param}: " if p.param else "")
                + p.message for p in mine))
        else:
            dpg.configure_item(view.problem_text, show=False)

    def _apply_node_theme(self, view: NodeView) -> None:
        if self.themes is not None:
            dpg.bind_item_theme(view.item, self.themes.node(view.category, view.state))

    # --- view -> commands -------------------------------------------------------------------

    def link_for(self, attr_a, attr_b) -> tuple[Link | None, str | None]:
        """The Link two pins make (output first, whichever was dragged), or why none."""
        a, b = self.attributes.get(attr_a), self.attributes.get(attr_b)
        if a is None or b is None:
            return None, "unknown pin"
        if a[2] == b[2]:
            return None, "connect an output (right side) to an input (left side)"
        out, into = (a, b) if a[2] else (b, a)
        return Link(out[0], out[1], into[0], into[1]), None

    def on_link(self, sender, app_data, user_data=None) -> bool:
        """Dear PyGui's link callback: (pin, pin) -> a Connect command or a refusal."""
        link, reason = self.link_for(*app_data)
        if link is not None:
            command, reason = C.connect_command(self.graph, self.registry, link)
        if reason:
            self.status(f"link refused: {reason}", error=True)
            return False
        self.execute(command)
        replaced = ", replacing " + ", ".join(map(str, command.replaces)) if command.replaces else ""
        self.status(f"connected {link}{replaced}")
        return True

    def on_delink(self, sender, item, user_data=None) -> None:
        link = next((l for l, i in self.links.items() if i == item), None)
        if link is not None and link in self.graph.links:
            self.execute(C.Disconnect([link]))
            self.status(f"disconnected {link}")

    def on_param_edit(self, node_id: str, name: str, raw) -> None:
        if self.graph is None or node_id not in self.graph.nodes:
            return
        if raw is RESET:
            if name in self.graph.nodes[node_id].params:
                self.execute(C.ResetParam(node_id, name))
        elif self.graph.nodes[node_id].params.get(name, C._MISSING) != raw or \
                type(self.graph.nodes[node_id].params.get(name)) is not type(raw):
            self.execute(C.SetParam(node_id, name, raw))

    def poll_moves(self) -> C.MoveNodes | None:
        """Positions the user dragged nodes to, as one MoveNodes (executed)."""
        if self.graph is None:
            return None
        moved = {}
        for node_id, view in self.nodes.items():
            if node_id not in self.graph.nodes:
                continue
            x, y = dpg.get_item_pos(view.item)
            want = self._grid(self.graph.nodes[node_id].pos)
            # compared on the grid (whole pixels); stored in whole model units (tidy files)
            if abs(x - want[0]) > 1.0 or abs(y - want[1]) > 1.0:
                moved[node_id] = (float(round((x - self.offset[0]) / self.zoom)),
                                  float(round((y - self.offset[1]) / self.zoom)))
        if not moved:
            return None
        command = C.MoveNodes(moved)
        self.execute(command)
        return command

    # --- selection ---------------------------------------------------------------------------

    def selected_nodes(self) -> list[str]:
        """What the user sees selected: Dear PyGui's selection, or else the nodes the editor
        selected itself (Dear PyGui cannot select nodes from code: pasted nodes)."""
        items = set(dpg.get_selected_nodes(self.editor))
        chosen = [n for n, view in self.nodes.items() if view.item in items]
        if chosen:
            self.drop_own_selection()
            return chosen
        return [n for n in self.nodes if n in self.own_selection]

    def select(self, node_ids) -> None:
        """Select these nodes (and nothing else), drawn with a blue frame."""
        dpg.clear_selected_nodes(self.editor)
        dpg.clear_selected_links(self.editor)
        self.drop_own_selection()
        self.own_selection = {n for n in node_ids if n in self.nodes}
        for node_id in self.own_selection:
            self._mark_node(self.nodes[node_id])

    def drop_own_selection(self) -> None:
        dropped, self.own_selection = self.own_selection, set()
        for node_id in dropped:
            if node_id in self.nodes:
                self._mark_node(self.nodes[node_id])

    def selected_links(self) -> list[Link]:
        items = set(dpg.get_selected_links(self.editor))
        return [l for l, i in self.links.items() if i in items]

    def clear_selection(self) -> None:
        self.drop_own_selection()
        dpg.clear_selected_nodes(self.editor)
        dpg.clear_selected_links(self.editor)

    def node_at(self, item) -> str | None:
        return next((n for n, view in self.nodes.items() if view.item == item), None)

    def hovered_node(self) -> str | None:
        return next((n for n, view in self.nodes.items() if dpg.is_item_hovered(view.item)), None)

    # --- where things are --------------------------------------------------------------------

    def rendered(self) -> None:
        """A frame was drawn: the nodes' rectangles match their positions again."""
        self._moved = False

    def screen_offset(self) -> tuple[float, float] | None:
        """screen position - grid position (the editor's origin plus any panning the user
        did with the middle button), from any node drawn last frame, on screen or not.
        Once nodes were moved this frame their rectangles are stale: the value measured
        before the move holds until the next frame."""
        if self._moved and self._last_delta is not None:
            return self._last_delta
        for view in self.nodes.values():
            state = dpg.get_item_state(view.item)
            if state.get("rect_size") and state["rect_size"][0] > 0 and "rect_min" in state:
                pos = dpg.get_item_pos(view.item)
                self._last_delta = (state["rect_min"][0] - pos[0], state["rect_min"][1] - pos[1])
                return self._last_delta
        return None

    def _delta(self) -> tuple[float, float]:
        delta = self.screen_offset()
        if delta is None:
            (ox, oy), _ = self.editor_rect()
            delta = (ox + 8, oy + 8)
        return delta

    def editor_rect(self) -> tuple[tuple[float, float], tuple[float, float]]:
        parent = dpg.get_item_parent(self.editor)
        state = dpg.get_item_state(parent) if parent else {}
        # a child window of the primary window: its pos is its screen position
        origin = state.get("rect_min") or state.get("pos") or [0, 0]
        size = dpg.get_item_state(self.editor).get("rect_size") or [800, 600]
        return (origin[0], origin[1]), (size[0], size[1])

    def screen_to_model(self, screen) -> tuple[float, float]:
        delta = self._delta()
        return ((screen[0] - delta[0] - self.offset[0]) / self.zoom,
                (screen[1] - delta[1] - self.offset[1]) / self.zoom)

    def model_to_screen(self, pos) -> tuple[float, float]:
        delta = self._delta()
        grid = self._grid(pos)
        return (grid[0] + delta[0], grid[1] + delta[1])

    def visible_center(self) -> tuple[float, float]:
        """The model position at the middle of the visible editor area."""
        (ox, oy), (w, h) = self.editor_rect()
        return self.screen_to_model((ox + w / 2, oy + h / 2))

    def _place_all(self) -> None:
        self.screen_offset()          # measured while the rectangles still match
        self._moved = True
        if self.graph is not None:
            for node_id, view in self.nodes.items():
                if node_id in self.graph.nodes:
                    dpg.set_item_pos(view.item, self._grid(self.graph.nodes[node_id].pos))

    def shift_view(self, dx: float, dy: float) -> None:
        self.offset = (self.offset[0] + dx, self.offset[1] + dy)
        self._place_all()

    # --- zoom ---------------------------------------------------------------------------------

    def set_zoom(self, zoom: float, anchor=None) -> None:
        """Zoom to `zoom` about the screen point `anchor` (default: the view's centre): the
        model point under it stays under it."""
        zoom = min(Z.MAX_ZOOM, max(Z.MIN_ZOOM, zoom))
        if anchor is None:
            (ox, oy), (w, h) = self.editor_rect()
            anchor = (ox + w / 2, oy + h / 2)
        model = self.screen_to_model(anchor)
        delta = self._delta()
        self.offset = Z.offset_keeping((anchor[0] - delta[0], anchor[1] - delta[1]), model, zoom)
        if zoom != self.zoom:
            self.zoom = zoom
            self._apply_zoom_styles()
        self._place_all()

    def zoom_step(self, steps: int, anchor=None) -> None:
        self.set_zoom(Z.step(self.zoom, steps), anchor)

    def _apply_zoom_styles(self) -> None:
        if self.styles is not None:
            font = self.styles.font(self.zoom)
            if font is not None:
                dpg.bind_item_font(self.window, font)
            dpg.bind_item_theme(self.window, self.styles.theme(self.zoom))
        detail = self.zoom >= Z.DETAIL_ZOOM
        for view in self.nodes.values():
            node_type = self.registry.get(view.type_name)
            if view.params_attr is not None:
                dpg.configure_item(view.params_attr, show=detail)
            for name, text in view.output_texts.items():
                if not is_reroute(view.type_name):
                    dpg.configure_item(text, indent=self._output_indent(node_type, name))
            dpg.configure_item(view.problem_text, wrap=round(WIDTH * self.zoom))
            for widget in view.params.values():
                widget.set_zoom(self.zoom)

    # --- fitting ------------------------------------------------------------------------------

    def model_size(self, node_id: str) -> tuple[float, float]:
        """A node's size in model units (from its last drawn size)."""
        size = dpg.get_item_state(self.nodes[node_id].item).get("rect_size") or [0, 0]
        if not size[0]:
            return (260.0, 160.0)
        return (size[0] / self.zoom, size[1] / self.zoom)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """left, top, right, bottom of every node, in model units."""
        if not self.graph or not len(self.graph):
            return None
        boxes = []
        for node in self.graph:
            if node.id in self.nodes:
                w, h = self.model_size(node.id)
                boxes.append((node.pos[0], node.pos[1], node.pos[0] + w, node.pos[1] + h))
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))

    def frame_all(self) -> None:
        """Fit the whole graph: the zoom and pan that put every node on screen."""
        box = self.bounds()
        if box is None:
            return
        left, top, right, bottom = box
        (ox, oy), (w, h) = self.editor_rect()
        zoom = Z.fit_level((right - left, bottom - top), (w, h))
        self._fit_to(box, zoom)
        self._fit_checks = 3

    def _fit_to(self, box, zoom) -> None:
        left, top, right, bottom = box
        (ox, oy), (w, h) = self.editor_rect()
        if zoom != self.zoom:
            self.zoom = zoom
            self._apply_zoom_styles()
        delta = self._delta()
        centre = (ox + w / 2 - delta[0], oy + h / 2 - delta[1])
        self.offset = (centre[0] - (left + right) / 2 * zoom, centre[1] - (top + bottom) / 2 * zoom)
        self._place_all()

    def outside(self) -> list[str]:
        """The nodes whose drawn rectangle is not wholly inside the editor's area."""
        (ox, oy), (w, h) = self.editor_rect()
        out = []
        for node_id, view in self.nodes.items():
            state = dpg.get_item_state(view.item)
            (x0, y0), (x1, y1) = state.get("rect_min", (0, 0)), state.get("rect_max", (0, 0))
            if x0 < ox or y0 < oy or x1 > ox + w or y1 > oy + h:
                out.append(node_id)
        return out

    def tick(self) -> None:
        """Per frame: the user's own selection replaces the editor's; after a fit, sizes
        drawn at the new zoom may differ a little from the estimate (fonts come in whole
        pixels): refit, one level smaller if still needed."""
        if self.own_selection and dpg.get_selected_nodes(self.editor):
            self.drop_own_selection()
        if self._fit_checks <= 0:
            return
        self._fit_checks -= 1
        if self._fit_checks == 1:
            box = self.bounds()
            if box is not None:
                self._fit_to(box, self.zoom)          # recentred with the sizes now drawn
        elif self._fit_checks == 0 and self.outside() and self.zoom > Z.MIN_ZOOM:
            box = self.bounds()
            if box is not None:
                self._fit_to(box, Z.step(self.zoom, -1))
                self._fit_checks = 2

    def focus(self, node_id: str) -> bool:
        """Bring a node to the middle of the view and highlight it for a moment."""
        if node_id not in self.nodes or self.graph is None:
            return False
        (ox, oy), (w, h) = self.editor_rect()
        node = self.graph.nodes[node_id]
        screen = self.model_to_screen(node.pos)
        size = dpg.get_item_state(self.nodes[node_id].item).get("rect_size") or [200, 100]
        self.shift_view(ox + w / 2 - size[0] / 2 - screen[0],
                        oy + max(40.0, h / 2 - size[1] / 2) - screen[1])
        self.highlight([node_id])
        return True

    def highlight(self, node_ids, seconds: float = HIGHLIGHT_SECONDS) -> None:
        until = time.monotonic() + seconds
        for node_id in node_ids:
            if node_id in self.nodes:
                self.highlighted[node_id] = until
                self._mark_node(self.nodes[node_id])

    def expire_highlights(self) -> None:
        now = time.monotonic()
        for node_id in [n for n, until in self.highlighted.items() if until <= now]:
            del self.highlighted[node_id]
            if node_id in self.nodes:
                self._mark_node(self.nodes[node_id])

    def clear(self) -> None:
        for node_id in list(self.nodes):
            self._delete_node(node_id)
        self.offset = (0.0, 0.0)
        self._fit_checks = 0
        if self.zoom != 1.0:
            self.zoom = 1.0
            self._apply_zoom_styles()
