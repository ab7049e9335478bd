"""Group frames drawn over the node editor, and dragging a frame by its title.

Dear PyGui's node editor has no groups, so a frame is drawn on the viewport's back
drawlist, behind every window: the canvas draws no background of its own (theme), so
the frame shows behind the nodes. It is a coloured outline around the drawn rectangles
of its nodes, with a title bar above them, clipped to the canvas. Dragging the title bar moves every node of the group (one MoveNodes
when the button is released); right-clicking it opens the group's menu (in the app).
The frames follow the nodes every frame, so they stay right through zoom and panning.
"""

from __future__ import annotations

import dearpygui.dearpygui as dpg

PAD = 10                # frame margin around the nodes, in pixels at 100%
TITLE = 22              # title bar height at 100%
COLORS = ((60, 110, 170), (170, 90, 60), (80, 150, 90), (150, 80, 160), (170, 150, 60),
          (70, 150, 160))


def next_color(color) -> tuple[int, int, int]:
    colors = list(COLORS)
    color = tuple(color) if color is not None else None
    return colors[(colors.index(color) + 1) % len(colors)] if color in colors else colors[0]


class GroupOverlay:
    def __init__(self, editor_view):
        self.view = editor_view
        self.drawlist = dpg.add_viewport_drawlist(front=False)
        self._drawn = None                # what was drawn last (to redraw only on change)
        self.frames: list[tuple[int, tuple[float, float, float, float]]] = []   # index, rect
        self.drag: dict | None = None     # the group being dragged

    # --- geometry ---------------------------------------------------------------------------

    def rects(self) -> list[tuple[int, tuple[float, float, float, float]]]:
        """(group index, (x0, y0, x1, y1) screen rectangle incl. title bar) per group with
        at least one drawn node."""
        graph, view = self.view.graph, self.view
        out = []
        if graph is None:
            return out
        zoom = view.zoom
        for index, group in enumerate(graph.groups):
            boxes = []
            for node_id in group.nodes:
                item = view.nodes.get(node_id)
                if item is None:
                    continue
                state = dpg.get_item_state(item.item)
                if state.get("rect_size") and state["rect_size"][0] > 0:
                    boxes.append((*state["rect_min"], *state["rect_max"]))
            if boxes:
                pad, title = PAD * zoom, TITLE * zoom
                out.append((index, (min(b[0] for b in boxes) - pad,
                                    min(b[1] for b in boxes) - pad - title,
                                    max(b[2] for b in boxes) + pad,
                                    max(b[3] for b in boxes) + pad)))
        return out

    def title_at(self, screen) -> int | None:
        """The group whose title bar is at this screen point (topmost first)."""
        title = TITLE * self.view.zoom
        for index, (x0, y0, x1, _) in reversed(self.frames):
            if x0 <= screen[0] <= x1 and y0 <= screen[1] <= y0 + title:
                return index
        return None

    # --- drawing ----------------------------------------------------------------------------

    def draw(self) -> None:
        """Per frame: bring the frames in line with the nodes (redrawn only on change)."""
        (ox, oy), (w, h) = self.view.editor_rect()
        self.frames = self.rects()
        graph = self.view.graph
        key = (ox, oy, w, h, self.view.zoom, tuple(self.frames),
               tuple((g.title, tuple(g.color)) for g in graph.groups) if graph else ())
        if key == self._drawn:
            return
        self._drawn = key
        dpg.delete_item(self.drawlist, children_only=True)
        title_h = TITLE * self.view.zoom
        for index, (x0, y0, x1, y1) in self.frames:
            group = graph.groups[index]
            color = tuple(group.color)
            # clipped to the canvas (the back drawlist spans the whole viewport)
            a, b, c, d = max(x0, ox), max(y0, oy), min(x1, ox + w), min(y1, oy + h)
            if a >= c or b >= d:
                continue
            dpg.draw_rectangle((a, b), (c, d), color=(*color, 230), fill=(*color, 28),
                               thickness=2, rounding=6 * self.view.zoom, parent=self.drawlist)
            if y0 < oy:
                continue          # title bar scrolled off: the outline alone
            dpg.draw_rectangle((a, b), (c, b + title_h), color=(*color, 0), fill=(*color, 200),
                               rounding=6 * self.view.zoom, parent=self.drawlist)
            if title_h >= 6:
                dpg.draw_text((a + 8 * self.view.zoom, b + 3 * self.view.zoom), group.title,
                              color=(240, 240, 245), size=max(7, 15 * self.view.zoom),
                              parent=self.drawlist)

    # --- dragging ---------------------------------------------------------------------------

    def start_drag(self, index: int, mouse) -> None:
        graph = self.view.graph
        members = [n for n in graph.groups[index].nodes if n in graph.nodes]
        self.drag = {"index": index, "mouse": tuple(mouse),
                     "start": {n: graph.nodes[n].pos for n in members}}

    def drag_to(self, mouse) -> None:
        if self.drag is None:
            return
        zoom = self.view.zoom
        dx = (mouse[0] - self.drag["mouse"][0]) / zoom
        dy = (mouse[1] - self.drag["mouse"][1]) / zoom
        for node_id, (x, y) in self.drag["start"].items():
            if node_id in self.view.nodes:
                dpg.set_item_pos(self.view.nodes[node_id].item, self.view._grid((x + dx, y + dy)))
        self.view._moved = True

    def end_drag(self) -> None:
        """The members were moved on screen; the editor's poll_moves records where."""
        self.drag = None
