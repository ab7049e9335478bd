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


def _templates_menu_item(name):
    for item in dpg.get_all_items():
        if dpg.get_item_type(item).endswith("mvMenuItem") and dpg.get_item_label(item) == name \
                and str(dpg.get_item_user_data(item) or "").endswith(".graph.yaml"):
            return item
    raise AssertionError(f"no Templates menu item {name}")


def test_templates_menu_asks_for_the_inputs(app):
    app.history.mark_saved()
    fire(_templates_menu_item("lighthouse in a storm"))
    app.pump(2)
    form = app.template_form
    assert form.open and {"prompt", "seed", "size"} <= set(form.fields)
    form.set("prompt", "a lighthouse at dawn")
    form.set("size", "96 64")
    assert form.ok()
    graph = app.history.graph
    assert graph.nodes["text_feature"].params["text"] == "a lighthouse at dawn"
    assert graph.nodes["pixels"].params["resolution"] == [96, 64]
    assert app.history.undo_label == "fill in template inputs"
    app.show_inputs()
    panel = app.inputs_window.panel
    assert "prompt" in panel.rows
    assert panel.rename("size", "resolution")
    assert "resolution" in app.inputs_window.panel.rows           # refreshed on the change
    app.undo()
    assert "size" in app.history.graph.inputs
