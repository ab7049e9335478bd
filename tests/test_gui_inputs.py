"""The editor window (Xvfb): a node's menu exposes one of its params as an input, undoable."""

import dearpygui.dearpygui as dpg
import pytest

from .test_gui_support import TEMPLATES, fire, shared_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return shared_app(tmp_path_factory)


def test_node_menu_exposes_a_param_as_an_input(app):
    app.history.mark_saved()
    app.open_template(TEMPLATES / "strawberries.graph.yaml")
    app.pump(4)
    assert "blur_kernel" not in app.history.graph.inputs
    app.open_node_menu_for("blur_constraint")
    items = {dpg.get_item_label(i): i for i in dpg.get_item_children(app.expose_menu, 1)}
    assert "kernel_size" in items and "weight" in items
    fire(items["kernel_size"])
    graph = app.history.graph
    assert graph.inputs["kernel_size"].target == "blur_constraint.kernel_size"
    assert app.history.undo_label == "expose blur_constraint.kernel_size as kernel_size"
    app.open_node_menu_for("text_feature")                 # the prompt is an input already
    labels = [dpg.get_item_label(i) for i in dpg.get_item_children(app.expose_menu, 1)]
    assert "text" not in labels and "weight" in labels
    app.undo()
    assert "kernel_size" not in app.history.graph.inputs
