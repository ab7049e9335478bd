"""Groups and reroutes in the window: a frame is drawn around its nodes and follows
them; dragging its title bar moves every node of it in one undoable step; its menu
renames, recolours, changes members and ungroups; reroute dots go on selected links,
and both survive saving and opening the graph again."""

import dearpygui.dearpygui as dpg
import pytest

from clipig_nodes.graph import commands as C
from clipig_nodes.graph.fileformat import load_graph
from clipig_nodes.graph.model import Link

from .test_gui_support import TEMPLATES, fire, shared_app

VIEWS = ["random_shift", "random_rotate", "random_scale", "center_crop"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return shared_app(tmp_path_factory)


@pytest.fixture
def straw(app):
    app.history.mark_saved()
    app.open_template(TEMPLATES / "strawberries.graph.yaml")
    app.pump(8)
    assert [g.title for g in app.history.graph.groups] == ["views", "losses"]   # the template's
    for index in (1, 0):
        app.execute(C.RemoveGroup(index))          # each test makes its own
    app.history.seal()
    app.editor.set_zoom(0.75)
    app.pump(3)
    return app


def node_rects(app, ids):
    out = []
    for node_id in ids:
        state = dpg.get_item_state(app.editor.nodes[node_id].item)
        out.append((*state["rect_min"], *state["rect_max"]))
    return out


def test_a_group_frames_its_nodes_and_follows_them(straw):
    assert straw.group(VIEWS, "views")
    straw.pump(3)
    [(index, (x0, y0, x1, y1))] = straw.group_overlay.frames
    assert index == 0
    for a, b, c, d in node_rects(straw, VIEWS):
        assert x0 < a and y0 < b and c < x1 and d < y1
    assert dpg.get_item_children(straw.group_overlay.drawlist, 2)       # drawn
    # moving a member moves the frame
    straw.editor.shift_view(40, 25)
    straw.pump(3)
    [(_, (x0b, y0b, _, _))] = straw.group_overlay.frames
    assert abs(x0b - x0 - 40) <= 1 and abs(y0b - y0 - 25) <= 1


def test_dragging_the_title_bar_moves_the_group_in_one_step(straw):
    straw.group(VIEWS, "views")
    straw.pump(3)
    before = {n: straw.history.graph.nodes[n].pos for n in VIEWS}
    others = {n.id: n.pos for n in straw.history.graph if n.id not in VIEWS}
    [(_, (x0, y0, x1, _))] = straw.group_overlay.frames
    title = (x0 + 30, y0 + 5)
    assert straw.group_overlay.title_at(title) == 0
    assert straw.group_overlay.title_at((x0 + 30, y0 + 200)) is None
    straw.group_overlay.start_drag(0, title)
    straw.group_overlay.drag_to((title[0] + 60, title[1] + 30))
    straw.pump(1)
    straw.on_mouse_release()                       # the real release reads the mouse: same place
    zoom = straw.editor.zoom
    for node_id in VIEWS:
        x, y = straw.history.graph.nodes[node_id].pos
        assert abs(x - before[node_id][0] - 60 / zoom) <= 2 and abs(
            y - before[node_id][1] - 30 / zoom) <= 2, node_id
    assert {n.id: n.pos for n in straw.history.graph if n.id not in VIEWS} == others
    straw.undo()
    assert {n: straw.history.graph.nodes[n].pos for n in VIEWS} == before


def test_group_menu_entries(straw):
    straw.group(VIEWS[:2], "views")
    straw.open_group_menu(0)
    items = straw.group_menu_items
    first = straw.history.graph.groups[0].color
    straw.open_group_menu(0)
    fire(items["color"])
    assert straw.history.graph.groups[0].color != first
    straw.editor.select(["center_crop"])
    straw.open_group_menu(0)
    fire(items["add"])
    assert straw.history.graph.groups[0].nodes == ["random_shift", "random_rotate", "center_crop"]
    straw.editor.select(["random_rotate"])
    straw.open_group_menu(0)
    fire(items["remove"])
    assert straw.history.graph.groups[0].nodes == ["random_shift", "center_crop"]
    straw.open_group_menu(0)
    fire(items["rename"])
    dialog = straw.dialogs.current
    dpg.set_value(dialog.input, "crops")
    dialog.press("OK")
    assert straw.history.graph.groups[0].title == "crops"
    straw.open_group_menu(0)
    fire(items["ungroup"])
    assert straw.history.graph.groups == []
    straw.undo()
    assert straw.history.graph.groups[0].title == "crops"


def test_ctrl_g_groups_the_selection(straw, monkeypatch):
    held = {dpg.mvKey_LControl}
    monkeypatch.setattr(straw, "_down", lambda *keys: any(k in held for k in keys))
    straw.editor.select(["text_feature", "blur_constraint"])
    straw.on_key(dpg.mvKey_G)
    dialog = straw.dialogs.current
    dpg.set_value(dialog.input, "losses")
    dialog.press("OK")
    assert [(g.title, g.nodes) for g in straw.history.graph.groups] == [
        ("losses", ["text_feature", "blur_constraint"])]


def test_reroutes_on_selected_links_and_groups_survive_save_and_open(straw, tmp_path,
                                                                    monkeypatch):
    link = Link("random_scale", "image", "center_crop", "image")
    monkeypatch.setattr(straw.editor, "selected_links", lambda: [link])
    dots = straw.reroute_selected_links()
    assert dots == ["reroute_image"]
    graph = straw.history.graph
    assert link not in graph.links
    assert Link("random_scale", "image", "reroute_image", "in") in graph.links
    assert Link("reroute_image", "out", "center_crop", "image") in graph.links
    straw.pump(2)
    assert "reroute_image" in straw.editor.nodes
    assert not [p for p in straw.problems if p.is_error]        # still a valid graph
    straw.group(VIEWS, "views")
    path = tmp_path / "grouped.graph.yaml"
    assert straw.save_to(path)
    loaded = load_graph(path)
    assert [(g.title, g.nodes) for g in loaded.groups] == [("views", VIEWS)]
    assert "reroute_image" in loaded.nodes
    straw.history.mark_saved()
    straw.open_path(path, ask=False)
    straw.pump(4)
    assert straw.history.graph.groups[0].nodes == VIEWS
    assert straw.group_overlay.frames
    straw.undo()
