"""Seeing and reaching the graph in the real window (Xvfb): Home fits every template on
the canvas, zoom keeps the point under the mouse where it is and scales the drawn nodes,
new nodes never stack, paste selects the copies (Delete removes them, not the original),
the node menu's entries and the menu bar are reachable, the canvas search adds and wires
nodes, warnings do not widen nodes, and previews arriving from the training are shown."""

import dearpygui.dearpygui as dpg
import numpy as np
import pytest

from clipig_nodes.graph import commands as C
from clipig_nodes.graph.model import Link
from clipig_nodes.gui import zoom as Z
from clipig_nodes.gui.worker import RunMessage

from .test_gui_support import TEMPLATES, fire, shared_app

TEMPLATE_FILES = sorted(TEMPLATES.glob("*.graph.yaml"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return shared_app(tmp_path_factory)


def open_template(app, path):
    app.history.mark_saved()
    app.open_template(path)
    app.pump(8)            # the fit waits for drawn sizes, then checks itself
    return app


@pytest.fixture
def straw(app):
    return open_template(app, TEMPLATES / "strawberries.graph.yaml")


def rect(app, node_id):
    state = dpg.get_item_state(app.editor.nodes[node_id].item)
    return state["rect_min"], state["rect_max"]


def canvas(app):
    (ox, oy), (w, h) = app.editor.editor_rect()
    return ox, oy, ox + w, oy + h


def held_keys(app, monkeypatch):
    held = set()
    monkeypatch.setattr(app, "_down", lambda *keys: any(k in held for k in keys))
    return held


# --- pure parts ---------------------------------------------------------------------------------

def test_zoom_levels_and_fit_level():
    assert Z.step(1.0, 1) == 1.1 and Z.step(1.0, -1) == 0.85
    assert Z.step(Z.MIN_ZOOM, -5) == 0.25 and Z.step(Z.MAX_ZOOM, 5) == 2.0
    assert Z.fit_level((400, 300), (1000, 800)) == 1.0           # never enlarges past 100%
    assert Z.fit_level((2400, 400), (940, 780)) == 0.33
    assert Z.fit_level((90000, 100), (900, 700)) == 0.25         # the smallest level, at least
    assert Z.offset_keeping((100, 50), (10, 20), 2.0) == (80, 10)


# --- the window ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name.split(".")[0])
def test_home_fits_every_node_of_each_template_on_the_canvas(app, path, monkeypatch):
    open_template(app, path)
    app.editor.set_zoom(2.0)                       # somewhere else first
    app.editor.shift_view(3000, -2000)
    app.pump(2)
    app.on_key(dpg.mvKey_Home)
    app.pump(6)
    x0, y0, x1, y1 = canvas(app)
    assert app.editor.nodes and Z.MIN_ZOOM <= app.editor.zoom <= 1.0
    for node_id in app.editor.nodes:
        (a, b), (c, d) = rect(app, node_id)
        assert x0 <= a and y0 <= b and c <= x1 and d <= y1, (node_id, (a, b, c, d), canvas(app))


def test_opening_fits_without_asking(app):
    open_template(app, TEMPLATES / "isometric-city-map-resolution-switch.graph.yaml")
    x0, y0, x1, y1 = canvas(app)
    for node_id in app.editor.nodes:
        (a, b), (c, d) = rect(app, node_id)
        assert x0 <= a and y0 <= b and c <= x1 and d <= y1, node_id


def test_zoom_about_a_point_keeps_it_under_the_mouse(straw):
    editor = straw.editor
    x0, y0, x1, y1 = canvas(straw)
    anchor = (x0 + 0.4 * (x1 - x0), y0 + 0.45 * (y1 - y0))
    model = editor.screen_to_model(anchor)
    pixels = straw.history.graph.nodes["pixels"].pos
    width_at = {}
    for steps in (1, 1, 2, -3, -4, -1):
        editor.zoom_step(steps, anchor)
        straw.pump(2)
        zoom = editor.zoom
        # where pixels' corner must be drawn if the anchor kept its model point
        want = (anchor[0] + (pixels[0] - model[0]) * zoom, anchor[1] + (pixels[1] - model[1]) * zoom)
        (a, b), (c, d) = rect(straw, "pixels")
        assert abs(a - want[0]) <= 3 and abs(b - want[1]) <= 3, (zoom, (a, b), want)
        back = editor.screen_to_model(anchor)
        assert abs(back[0] - model[0]) * zoom <= 3 and abs(back[1] - model[1]) * zoom <= 3
        width_at[zoom] = c - a
    # nodes are drawn smaller when zoomed out: sizes, fonts and fields scale together
    small, big = min(width_at), max(width_at)
    assert width_at[small] < width_at[big] * (small / big) * 1.35


def test_zoom_keys_and_menu(straw, monkeypatch):
    held = held_keys(straw, monkeypatch)
    held.add(dpg.mvKey_LControl)
    straw.on_key(dpg.mvKey_0)
    assert straw.editor.zoom == 1.0
    straw.on_key(dpg.mvKey_Plus)
    assert straw.editor.zoom == 1.1
    straw.on_key(dpg.mvKey_Minus)
    straw.on_key(dpg.mvKey_Minus)
    assert straw.editor.zoom == 0.85
    assert "zoom 85%" in straw.status_text
    held.clear()
    for _ in range(30):
        straw.zoom_by(-1)
    assert straw.editor.zoom == 0.25
    for _ in range(30):
        straw.zoom_by(1)
    assert straw.editor.zoom == 2.0


def test_new_nodes_land_in_view_and_never_stack(app):
    app.history.mark_saved()
    app.new_document()
    app.pump(2)
    ids = [app.add_node("noise") for _ in range(4)]
    app.pump(3)
    positions = [app.history.graph.nodes[i].pos for i in ids]
    assert len(set(positions)) == 4
    for a in positions:
        for b in positions:
            assert a == b or abs(a[0] - b[0]) >= 24 or abs(a[1] - b[1]) >= 24
    x0, y0, x1, y1 = canvas(app)
    for node_id in ids:
        (a, b), _ = rect(app, node_id)
        assert x0 <= a <= x1 and y0 <= b <= y1, node_id          # on screen, not off it


def test_paste_selects_the_copies_and_delete_removes_them_not_the_original(straw):
    links = list(straw.history.graph.links)
    text = straw.copy(["random_shift"])
    command = straw.paste(text)
    assert straw.selection() == command.new_ids == ["random_shift_2"]
    assert straw.editor.nodes["random_shift_2"].state == "selected"
    straw.on_key(dpg.mvKey_Delete)
    assert "random_shift" in straw.history.graph.nodes
    assert "random_shift_2" not in straw.history.graph.nodes
    assert list(straw.history.graph.links) == links
    # duplicate too: the copies are what the next action acts on
    dup = straw.duplicate(["text_feature"])
    assert straw.selection() == dup.new_ids
    straw.editor.clear_selection()
    assert straw.selection() == []


def test_node_menu_entries(straw):
    straw.open_node_menu_for("random_shift")
    assert dpg.is_item_shown(straw.node_menu)
    items = straw.node_menu_items
    assert set(items) == {"rename", "duplicate", "copy", "delete", "disconnect", "reset",
                          "bypass", "help"}
    fire(items["bypass"])
    assert straw.history.graph.nodes["random_shift"].params["active"] is False
    assert not dpg.is_item_shown(straw.node_menu)             # a click closes the menu
    straw.open_node_menu_for("random_shift")
    assert dpg.get_value(items["bypass"]) is True              # ticked while bypassed
    fire(items["bypass"])
    assert "active" not in straw.history.graph.nodes["random_shift"].params
    straw.execute(C.SetParam("random_shift", "range", [-3.0, 3.0]))
    straw.open_node_menu_for("random_shift")
    fire(items["reset"])
    assert straw.history.graph.nodes["random_shift"].params == {}
    straw.open_node_menu_for("random_shift")
    fire(items["disconnect"])
    assert not [l for l in straw.history.graph.links if "random_shift" in (l.src, l.dst)]
    straw.open_node_menu_for("random_shift")
    fire(items["help"])
    assert straw.dialogs.current.title == "random_shift"
    straw.dialogs.current.press("OK")
    straw.open_node_menu_for("random_shift")
    fire(items["rename"])
    assert straw.dialogs.current.title == "Rename node"
    straw.dialogs.current.press("Cancel")
    straw.open_node_menu_for("random_shift")
    fire(items["duplicate"])
    assert "random_shift_2" in straw.history.graph.nodes
    straw.open_node_menu_for("random_shift_2")
    fire(items["delete"])
    assert "random_shift_2" not in straw.history.graph.nodes
    # preview: one entry per output; without a run it says what to do
    straw.open_node_menu_for("random_shift")
    entries = dpg.get_item_children(straw.preview_menu, 1)
    assert [dpg.get_item_label(e) for e in entries] == ["image"]
    fire(entries[0])
    assert "Start" in straw.status_text


def test_preview_request_and_answer(straw, monkeypatch):
    sent = []
    monkeypatch.setattr(straw.runner, "state", "running")
    monkeypatch.setattr(straw.runner, "_send", lambda *command: sent.append(command))
    straw.preview_window.key = None
    assert straw.request_preview("random_shift", "image")
    assert straw.request_preview("random_rotate", "image")       # one at a time
    assert sent == [("preview", "random_shift", "image"), ("unpreview", "random_shift", "image"),
                    ("preview", "random_rotate", "image")]
    assert straw.preview_window.shown
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :30] = 255
    straw._run_message(RunMessage("preview", image=image[:, :10], message="other.image"))
    straw._run_message(RunMessage("preview", image=image, message="random_rotate.image"))
    assert straw.preview_window.images_shown == 1
    texture = np.array(dpg.get_value(straw.preview_window.texture)).reshape(40, 60, 4)
    assert texture[0, 0, 0] == 1.0 and texture[0, 59, 0] == 0.0
    assert "random_rotate.image: 60x40" == dpg.get_value(straw.preview_window.caption)
    straw._run_message(RunMessage("preview", message="ghost.image"))       # not in the run
    assert "no preview of ghost.image: the running training has no such node" in straw.status_text


def test_every_menu_bar_entry_has_an_action(straw):
    menubar = next(c for c in dpg.get_item_children(straw.window, 1)
                   if dpg.get_item_type(c).endswith("mvMenuBar"))
    labels = []

    def walk(item):
        for child in dpg.get_item_children(item, 1) or []:
            kind = dpg.get_item_type(child)
            if kind.endswith("mvMenuItem"):
                labels.append(dpg.get_item_label(child))
                enabled = dpg.get_item_configuration(child)["enabled"]
                assert dpg.get_item_callback(child) is not None or not enabled, labels[-1]
            elif kind.endswith("mvMenu"):
                walk(child)
    walk(menubar)
    for wanted in ("New", "Open...", "Save graph", "Fit whole graph", "Zoom in", "Zoom out",
                   "Zoom 100%", "Tidy layout", "Shortcuts", "Start"):
        assert any(label.startswith(wanted) for label in labels), wanted


def test_canvas_search_adds_the_first_match_and_wires_it(straw):
    straw.editor.select(["center_crop"])
    straw._search_pos, straw._search_selected = (3000.0, 900.0), straw.selection()
    straw.search.open((400, 300))
    assert straw.search.shown
    assert straw.search.filter("rand rot")[0] == "random_rotate"
    assert straw.search.filter("gaussian")[:1] == ["blur"] or "blur" in straw.search.filter(
        "gaussian")                                              # found by its doc
    assert straw.search.filter("blur")[0] == "blur"           # names before docs
    straw.search.filter("noise")
    first = straw.search.matches[0]
    added = straw.search.accept()
    assert added == first and not straw.search.shown
    new_id = [n for n in straw.history.graph.nodes if n.startswith(first)][-1]
    assert straw.history.graph.nodes[new_id].pos == (3000.0, 900.0)
    assert Link("center_crop", "image", new_id, "image") in straw.history.graph.links


def test_warnings_do_not_change_node_widths(straw):
    straw.editor.set_zoom(1.0)
    straw.pump(2)
    (a, _), (c, _) = rect(straw, "random_rotate")
    straw.execute(C.SetParam("random_rotate", "degree", "this is not valid at all, not even close"))
    straw.pump(2)
    assert straw.editor.nodes["random_rotate"].state == "error"
    (a2, _), (c2, _) = rect(straw, "random_rotate")
    assert c2 - a2 == c - a


def test_prompts_get_a_wide_field_and_a_multi_line_editor(straw):
    straw.editor.set_zoom(1.0)
    widget = straw.editor.nodes["text_feature"].params["text"]
    other = straw.editor.nodes["train"].params["model"]
    assert (dpg.get_item_configuration(widget.input)["width"]
            > dpg.get_item_configuration(other.input)["width"] + 20)
    more = widget.more
    fire(more)
    dialog = straw.dialogs.current
    assert dpg.get_item_configuration(dialog.input)["multiline"]
    dpg.set_value(dialog.input, "ripe strawberries\non a wooden table")
    dialog.press("OK")
    assert straw.history.graph.nodes["text_feature"].params["text"] == \
        "ripe strawberries on a wooden table"


def test_the_window_opens_inside_the_screen():
    from clipig_nodes.gui.display import window_placement

    x, y, w, h = window_placement(1600, 960, (1600, 1000))
    assert x >= 0 and y >= 0 and x + w <= 1600 and y + h + 30 <= 1000      # 30: title bar
    assert window_placement(1200, 800, (1920, 1080))[2:] == (1200, 800)   # fits: as asked
    assert window_placement(1600, 960, None) == (100, 60, 1600, 960)      # unknown screen


def test_start_up_steps_are_shown_with_a_spinner_until_the_first_epoch(straw):
    panel = straw.run_panel
    panel.set_step("starting the training process (torch loads once)")
    straw.pump(1)
    first = dpg.get_value(panel.step_text)
    assert dpg.is_item_shown(panel.step_text) and "torch loads once" in first
    straw._run_message(RunMessage("ready"))
    assert "loading CLIP" in dpg.get_value(panel.step_text)
    straw._run_message(RunMessage("startup", message="encoding 3 texts"))
    assert "encoding 3 texts" in dpg.get_value(panel.step_text)
    straw._run_message(RunMessage("started", message="training on cpu"))
    assert "first epoch" in dpg.get_value(panel.step_text)
    straw._run_message(RunMessage("epoch", 1, 10))
    assert panel.step is None and not dpg.is_item_shown(panel.step_text)
    # a run that failed while compiling, then the next one: its seconds count from 0 again
    panel.set_step("compiling the graph")
    panel._step_since -= 30
    straw._run_message(RunMessage("error", message="bad graph"))
    panel.set_step("compiling the graph")
    assert "(0 s)" in dpg.get_value(panel.step_text)
    panel.set_step(None)                       # no spinner left ticking for later tests
    from clipig_nodes.gui.run_panel import SIM_HELP
    assert "cosine similarity" in SIM_HELP and "times 100" in SIM_HELP
    panel.set_state("idle")


def test_template_gallery_shows_pictures_descriptions_and_opens(app):
    from clipig_nodes.gui.gallery import cards

    found = cards(TEMPLATES)
    assert len(found) == len(TEMPLATE_FILES)
    straw = next(c for c in found if c["name"] == "strawberries")
    assert straw["thumbnail"] == TEMPLATES / "strawberries.png" and straw["description"]
    assert all(c["thumbnail"] is not None for c in found)        # every template has its PNG
    app.history.mark_saved()
    app.gallery.show()
    app.pump(2)
    assert app.gallery.shown and set(app.gallery.buttons) == {c["name"] for c in found}
    images = [c for c in dpg.get_item_children(app.gallery.textures, 1)]
    assert len(images) == len(found)
    fire(app.gallery.buttons["lighthouse in a storm"])
    assert not app.gallery.shown
    assert app.document.kind == "template" and "lighthouse" in str(app.document.origin)
    assert app.template_form is not None                 # asks for its inputs, as the menu does


def test_paste_far_away_fits_the_graph_so_the_copies_are_seen(straw):
    text = straw.copy(["random_shift"])
    command = straw.paste(text, at=(2700.0, 1300.0))      # off screen, within reach of 25%
    straw.pump(10)
    assert command.new_ids[0] not in straw.editor.outside()
    assert not straw.editor.outside()
