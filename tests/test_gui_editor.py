"""The editor's Dear PyGui item tree: links made and refused through the editor's own
link callback (with the status bar text), a second link into a single input replacing
the first, param widgets per kind, inline expression errors, undo/redo, copy/paste,
problems, palette. One App (one Dear PyGui context) for the whole module."""

import dearpygui.dearpygui as dpg
import pytest

from clipig_nodes.graph import commands as C
from clipig_nodes.graph.model import Link

from .test_gui_support import TEMPLATES, fire, shared_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return shared_app(tmp_path_factory)


@pytest.fixture
def straw(app):
    """The strawberries template, freshly opened."""
    app.history.mark_saved()            # no "unsaved changes" question between tests
    app.open_template(TEMPLATES / "strawberries.graph.yaml")
    app.pump(2)
    return app


def pins(app, link):
    editor = app.editor
    return editor.nodes[link.src].outputs[link.src_socket], editor.nodes[link.dst].inputs[link.dst_socket]


def drag(app, link):
    """What Dear PyGui does when the user drags a link between two pins."""
    return fire(app.editor.editor, pins(app, link))


def drawn_links(app):
    """Links as Dear PyGui has them: (output pin, input pin) -> Link via the pin map."""
    out = set()
    for item in dpg.get_item_children(app.editor.editor, 0):
        if dpg.get_item_type(item) != "mvAppItemType::mvNodeLink":
            continue
        config = dpg.get_item_configuration(item)
        a = app.editor.attributes[config["attr_1"]]
        b = app.editor.attributes[config["attr_2"]]
        out.add(Link(a[0], a[1], b[0], b[1]))
    return out


def test_the_template_is_drawn_as_the_model_says(straw):
    graph = straw.history.graph
    nodes = dpg.get_item_children(straw.editor.editor, 1)
    assert len(nodes) == len(graph) == 9
    assert {dpg.get_item_label(straw.editor.nodes[n].item).split()[0] for n in graph.nodes} \
        == set(graph.nodes)
    assert drawn_links(straw) == set(graph.links)
    assert straw.status_text.startswith("opened")


def test_link_accepted_through_the_editor_callback(straw):
    straw.execute(C.AddNode("text_feature", "second", {"text": "a red strawberry"}, (900, 500)))
    link = Link("second", "feature", "random_sampler", "features")
    assert drag(straw, link) is True
    assert link in straw.history.graph.links and link in drawn_links(straw)
    assert straw.status_text == f"connected {link}"
    straw.undo()
    assert link not in straw.history.graph.links and link not in drawn_links(straw)


@pytest.mark.parametrize("link, reason", [
    (Link("text_feature", "feature", "random_shift", "image"), "FEATURE cannot feed IMAGE"),
    (Link("random_rotate", "image", "random_rotate", "image"), "cannot feed itself"),
    (Link("center_crop", "image", "random_shift", "image"), "would create a cycle"),
    (Link("random_sampler", "target", "random_sampler", "image"), "cannot feed itself"),
])
def test_link_refused_with_its_reason_in_the_status_bar(straw, link, reason):
    before = list(straw.history.graph.links)
    revision = straw.history.revision
    assert drag(straw, link) is False
    assert straw.status_text.startswith("link refused:") and reason in straw.status_text
    assert straw.status_error
    assert straw.history.graph.links == before and straw.history.revision == revision
    assert link not in drawn_links(straw)


def test_output_to_output_is_refused(straw):
    a = straw.editor.nodes["random_shift"].outputs["image"]
    b = straw.editor.nodes["random_rotate"].outputs["image"]
    assert fire(straw.editor.editor, (a, b)) is False
    assert "output" in straw.status_text and "input" in straw.status_text


def test_second_link_into_a_single_input_replaces_the_first(straw):
    old = Link("center_crop", "image", "random_sampler", "image")
    new = Link("random_scale", "image", "random_sampler", "image")
    assert drag(straw, new)
    links = straw.history.graph.links
    assert new in links and old not in links
    assert new in drawn_links(straw) and old not in drawn_links(straw)
    assert "replacing center_crop.image -> random_sampler.image" in straw.status_text
    straw.undo()                                   # one step brings the old link back
    assert old in straw.history.graph.links and new not in straw.history.graph.links
    assert old in drawn_links(straw)


def test_delink_callback_disconnects(straw):
    link = Link("blur_constraint", "constraint", "random_sampler", "constraints")
    item = straw.editor.links[link]
    dpg.get_item_configuration(straw.editor.editor)["delink_callback"](straw.editor.editor, item,
                                                                      None)
    assert link not in straw.history.graph.links and link not in drawn_links(straw)
    straw.redo()           # nothing to redo: the disconnect is the last step
    straw.undo()
    assert link in drawn_links(straw)


KINDS = {
    ("pixels", "resolution"): "mvDragIntMulti",
    ("pixels", "init_mean"): "mvDragFloatMulti",
    ("pixels", "interpolation"): "mvCombo",
    ("pixels", "init_image"): "mvInputText",
    ("train", "epochs"): "mvDragInt",
    ("train", "learnrate"): "mvDragFloat",
    ("train", "learnrate_scale"): "mvInputText",       # an expression: the text field
    ("train", "model"): "mvInputText",
    ("text_feature", "text"): "mvInputText",
    ("random_shift", "active"): "mvCheckbox",
    ("random_shift", "start"): "mvInputText",
}


def test_param_widgets_fit_their_kind(straw):
    for (node, param), kind in KINDS.items():
        widget = straw.editor.nodes[node].params[param]
        assert dpg.get_item_type(widget.input) == f"mvAppItemType::{kind}", (node, param)
    # the path param has a file button beside its field
    path = straw.editor.nodes["pixels"].params["init_image"]
    assert any(dpg.get_item_label(i) == "..." for i in path.items)
    # values as the model has them
    assert dpg.get_value(straw.editor.nodes["pixels"].params["resolution"].input)[:2] == [512, 512]
    assert dpg.get_value(straw.editor.nodes["train"].params["learnrate_scale"].input) \
        == "1. - .95 * t5"
    assert dpg.get_value(straw.editor.nodes["pixels"].params["interpolation"].input) == "cubic"
    assert dpg.get_value(straw.editor.nodes["random_shift"].params["active"].input) is True
    # every type of the library builds its widgets
    for node_type in straw.registry:
        straw.execute(C.AddNode(node_type.name, pos=(0, 2000)))
    assert len(straw.editor.nodes) == len(straw.history.graph)


def test_widget_edits_become_commands(straw):
    editor = straw.editor
    epochs = editor.nodes["train"].params["epochs"]
    fire(epochs.input, 300, None)
    assert straw.history.graph.nodes["train"].params["epochs"] == 300
    combo = editor.nodes["pixels"].params["interpolation"]
    fire(combo.input, "nearest", None)
    assert straw.history.graph.nodes["pixels"].params["interpolation"] == "nearest"
    vector = editor.nodes["pixels"].params["resolution"]
    fire(vector.input, [640, 480, 0, 0], None)
    assert straw.history.graph.nodes["pixels"].params["resolution"] == [640, 480]
    check = editor.nodes["random_shift"].params["active"]
    fire(check.input, False, None)
    assert straw.history.graph.nodes["random_shift"].params["active"] is False
    # undo walks back through them, and the widgets follow
    for _ in range(4):
        straw.undo()
    assert dpg.get_value(vector.input)[:2] == [512, 512]
    assert dpg.get_value(combo.input) == "cubic"
    assert dpg.get_value(epochs.input) == 250
    assert dpg.get_value(check.input) is True


def test_bad_expression_is_flagged_inline_and_in_problems(straw):
    widget = straw.editor.nodes["train"].params["learnrate_scale"]
    widget.set_text("1 - .95 *")
    assert straw.history.graph.nodes["train"].params["learnrate_scale"] == "1 - .95 *"
    assert widget.error and dpg.get_item_theme(widget.input) == straw.themes.error_widget
    assert dpg.get_item_configuration(widget.tooltip_error)["show"]
    assert dpg.get_value(widget.tooltip_error) == widget.error
    view = straw.editor.nodes["train"]
    assert view.state == "error"
    assert dpg.get_item_configuration(view.problem_text)["show"]
    assert "learnrate_scale" in dpg.get_value(view.problem_tooltip)
    assert any(p.node == "train" and p.param == "learnrate_scale" for p in straw.problems_panel.problems)
    # typing on (one undo step) until it parses again
    widget.set_text("1 - .95 * t")
    assert widget.error is None and dpg.get_item_theme(widget.input) in (0, None)
    assert view.state == "ok"
    # an unknown variable is also an error
    widget.set_text("1 - .95 * nope")
    assert widget.error and "nope" in widget.error


def test_number_field_switches_to_an_expression_field_and_back(straw):
    widget = straw.editor.nodes["train"].params["learnrate"]
    assert widget.mode == "drag"
    fire(widget.toggle, None, None)
    assert widget.mode == "text" and dpg.get_value(widget.input) == "2.0"
    widget.set_text("2 * (1 - t)")
    assert straw.history.graph.nodes["train"].params["learnrate"] == "2 * (1 - t)" and not widget.error
    widget.set_text("3")
    fire(widget.toggle, None, None)
    assert widget.mode == "drag" and dpg.get_value(widget.input) == 3.0
    # emptying a field resets the param to its default
    fire(widget.toggle, None, None)
    widget.set_text("")
    assert "learnrate" not in straw.history.graph.nodes["train"].params


def test_copy_paste_duplicate_delete(straw):
    text = straw.copy(["random_shift", "random_rotate"])
    assert "random_shift" in text
    command = straw.paste(text)
    assert command.new_ids == ["random_shift_2", "random_rotate_2"]
    assert {"random_shift_2", "random_rotate_2"} <= set(straw.editor.nodes)
    assert Link("random_shift_2", "image", "random_rotate_2", "image") in drawn_links(straw)
    assert straw.selection() == ["random_shift_2", "random_rotate_2"]     # the copies, selected
    dup = straw.duplicate(["text_feature"])
    assert dup.new_ids == ["text_feature_2"]
    assert dpg.get_value(straw.editor.nodes["text_feature_2"].params["text"].input) \
        == "strawberries lying on the grass"
    straw.delete_nodes(["random_shift_2", "random_rotate_2", "text_feature_2"])
    assert not {"random_shift_2", "text_feature_2"} & set(straw.editor.nodes)
    straw.undo()
    assert {"random_shift_2", "text_feature_2"} <= set(straw.editor.nodes)


def test_paste_into_another_graph(straw, tmp_path):
    text = straw.copy(["center_crop", "random_sampler", "text_feature"])
    straw.history.mark_saved()
    straw.open_template(TEMPLATES / "lighthouse-in-a-storm.graph.yaml")
    ids = set(straw.history.graph.nodes)
    command = straw.paste(text)
    assert set(command.new_ids).isdisjoint(ids)
    assert len(straw.history.graph) == len(ids) + 3
    assert len([l for l in straw.history.graph.links if l.src in command.new_ids]) == 2


def test_rename_through_the_dialog(straw):
    straw.rename_dialog("random_sampler")
    dialog = straw.dialogs.current
    assert dialog is not None and dialog.value() == "random_sampler"
    dpg.set_value(dialog.input, "sampler")
    dialog.press("OK")
    assert "sampler" in straw.history.graph and "sampler" in straw.editor.nodes
    assert Link("sampler", "target", "train", "targets") in drawn_links(straw)
    straw.rename_dialog("sampler")
    dpg.set_value(straw.dialogs.current.input, "train")
    straw.dialogs.current.press("OK")
    assert straw.status_error and "already exists" in straw.status_text


def test_problem_click_shows_the_node(straw):
    straw.execute(C.Disconnect([Link("random_sampler", "target", "train", "targets")]))
    straw.execute(C.RemoveNodes(["pixels"]))
    problems = straw.problems_panel.problems
    assert problems and problems[0].is_error
    index = next(i for i, p in enumerate(problems) if p.node == "random_shift")
    row = straw.problems_panel.rows[index]
    selectable = dpg.get_item_children(row, 1)[0]
    fire(selectable, True, index)
    assert "random_shift" in straw.editor.highlighted
    assert straw.editor.nodes["random_shift"].state == "highlight"
    assert straw.status_text.startswith("random_shift:")
    straw.pump(2)


def test_palette_search_and_add(straw):
    shown = straw.palette.filter("blur")
    assert "blur" in shown and "blur_constraint" in shown and "pixels" not in shown
    assert not dpg.get_item_configuration(straw.palette.headers["source"])["show"]
    shown = straw.palette.filter("")
    assert len(shown) == len(straw.registry)
    item = straw.palette.items["noise"]
    fire(item, True, "noise")
    assert "noise" in straw.history.graph and "noise" in straw.editor.nodes
    assert straw.editor.nodes["noise"].state == "highlight"


def test_delete_keeps_order_and_undo_restores_everything(straw):
    before = (list(straw.history.graph.nodes), list(straw.history.graph.links))
    straw.delete_nodes(["random_rotate", "text_feature"])
    straw.undo()
    assert (list(straw.history.graph.nodes), list(straw.history.graph.links)) == before
    assert drawn_links(straw) == set(straw.history.graph.links)


def test_node_moves_become_one_command(straw):
    view = straw.editor.nodes["pixels"]
    x, y = dpg.get_item_pos(view.item)
    dpg.set_item_pos(view.item, [x + 55, y + 20])       # as a drag leaves it
    straw.on_mouse_release()
    pos = straw.history.graph.nodes["pixels"].pos
    zoom = straw.editor.zoom                             # screen pixels / model units
    assert abs(pos[0] - 55 / zoom) <= 1 / zoom + 0.5 and abs(pos[1] - 20 / zoom) <= 1 / zoom + 0.5
    straw.undo()
    assert straw.history.graph.nodes["pixels"].pos == (0.0, 0.0)
    assert dpg.get_item_pos(view.item) == [x, y]


def test_keyboard_shortcuts(straw, monkeypatch):
    held = set()
    monkeypatch.setattr(straw, "_down", lambda *keys: any(k in held for k in keys))
    straw.execute(C.SetParam("train", "epochs", 12))
    held.add(dpg.mvKey_LControl)
    straw.on_key(dpg.mvKey_Z)                                 # Ctrl+Z
    assert straw.history.graph.nodes["train"].params["epochs"] == 250
    straw.on_key(dpg.mvKey_Y)                                 # Ctrl+Y
    assert straw.history.graph.nodes["train"].params["epochs"] == 12
    held.add(dpg.mvKey_LShift)
    straw.on_key(dpg.mvKey_Z)                                 # Ctrl+Shift+Z: nothing to redo
    assert straw.status_text == "nothing to redo"
    held.discard(dpg.mvKey_LShift)
    # while a text field is being typed in, its own Ctrl+Z and Delete win
    straw.editing.add(123)
    straw.on_key(dpg.mvKey_Z)
    assert straw.history.graph.nodes["train"].params["epochs"] == 12
    straw.editing.clear()
    straw.on_key(dpg.mvKey_Z)
    assert straw.history.graph.nodes["train"].params["epochs"] == 250
    held.clear()
    straw.on_key(dpg.mvKey_Delete)                            # nothing selected
    assert straw.status_text.startswith("nothing selected")
