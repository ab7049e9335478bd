"""The editor's inputs: "Expose as input", the panel (rename, remove, undo) and the form a
template asks for. Dear PyGui items are made in a context without a window: no display needed."""

from __future__ import annotations

import dearpygui.dearpygui as dpg
import pytest

from clipig_nodes.graph.commands import History
from clipig_nodes.graph.fileformat import load_graph
from clipig_nodes.gui.inputs_panel import (InputsPanel, TemplateForm, expose, fill_expose_menu,
                                           suggest_name)

from .graph_builders import minimal
from .test_sweep import ROOT


@pytest.fixture
def context():
    dpg.create_context()
    yield
    dpg.destroy_context()


def _expose(history, registry, node_id, param):
    return expose(history.graph, history.execute, registry, node_id, param)


def test_expose_names_and_undo(registry):
    history = History(minimal())
    assert _expose(history, registry, "text_feature", "text") == "prompt"
    assert _expose(history, registry, "text_feature", "text") is None          # already one
    assert _expose(history, registry, "train", "seed") == "seed"
    assert _expose(history, registry, "train", "no_such_param") is None
    g = history.graph
    assert g.inputs["prompt"].description          # the param's doc to start with
    g.add_node("text_feature", "text_2")
    assert suggest_name(g, "text_2", "text") == "text_2_text"
    history.undo()
    assert list(history.graph.inputs) == ["prompt"]


def test_panel_lists_renames_and_removes(context, registry):
    history = History(minimal())
    _expose(history, registry, "text_feature", "text")
    _expose(history, registry, "pixels", "resolution")
    with dpg.window():
        parent = dpg.add_group()
    panel = InputsPanel(history.execute, registry)
    panel.build(parent)
    panel.refresh(history.graph)
    assert list(panel.rows) == ["prompt", "resolution"]
    assert panel.rename("resolution", "size") and list(history.graph.inputs) == ["prompt", "size"]
    assert not panel.rename("size", "prompt")                      # taken: stays, says why
    assert "already exists" in dpg.get_value(panel.message)
    assert panel.remove("prompt") and list(history.graph.inputs) == ["size"]
    panel.refresh(history.graph)
    assert list(panel.rows) == ["size"]
    history.undo(), history.undo()
    assert list(history.graph.inputs) == ["prompt", "resolution"]


def test_template_form_checks_values_and_fills_them_in(context, registry):
    template = load_graph(ROOT / "graphs" / "lighthouse-in-a-storm.graph.yaml")
    done = []
    form = TemplateForm(template, registry, done.append)
    assert {"prompt", "seed", "size"} <= set(form.fields)
    form.set("prompt", "a lighthouse at dawn")
    form.set("size", "64 48 2")
    assert not form.ok() and form.open and "input 'size'" in dpg.get_value(form.message)
    form.set("size", "64 48")
    assert dpg.get_value(form.fields["seed"]) == ""                 # unset: may stay empty
    assert form.ok() and not form.open
    [graph] = done
    prompt, size = graph.inputs["prompt"], graph.inputs["size"]
    assert graph.nodes[prompt.node].params[prompt.param] == "a lighthouse at dawn"
    assert graph.nodes[size.node].params[size.param] == [64, 48]
    assert graph.nodes["train"].params.get("seed") is None
    assert template.nodes[prompt.node].params[prompt.param] != "a lighthouse at dawn"


def test_expose_menu_lists_the_params_not_yet_inputs(context, registry):
    history = History(minimal())
    _expose(history, registry, "train", "seed")
    picked = []
    with dpg.window():
        menu = dpg.add_menu(label="Expose as input")
    fill_expose_menu(menu, history.graph, registry, "train", picked.append)
    labels = [dpg.get_item_label(i) for i in dpg.get_item_children(menu, 1)]
    assert "epochs" in labels and "seed" not in labels
    item = dpg.get_item_children(menu, 1)[labels.index("epochs")]
    dpg.get_item_callback(item)(item, None, dpg.get_item_user_data(item))
    assert picked == ["epochs"]
