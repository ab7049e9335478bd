"""Files from the editor: floats as the shortest text (no 32-bit noise from the drag
fields), Open shows graphs, YAML and PNG together, Ctrl+S on an untitled graph asks
where the image goes and never writes over a file."""

import struct

import dearpygui.dearpygui as dpg
import numpy as np
import pytest

from clipig_nodes.graph.fileformat import dumps_graph
from clipig_nodes.graph.pngmeta import read_png_graph
from clipig_nodes.gui.dialogs import extension_filters
from clipig_nodes.gui.widgets import shortest_float

from .test_gui_support import TEMPLATES, fire, shared_app


def f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


@pytest.mark.parametrize("typed", [0.4, 0.1, 2.5e-05, 123.456, 0.95, -1.7, 3.0e10])
def test_a_32_bit_float_is_written_as_what_was_typed(typed):
    noisy = f32(typed)
    assert noisy != typed or typed == 3.0e10
    assert shortest_float(noisy) == typed


def test_genuine_doubles_and_short_floats_are_kept():
    for value in (1 / 3, 0.1 + 0.2, 1e-300, 0.5, float("inf")):
        assert shortest_float(value) == value or value != value


def test_extension_filters_put_every_kind_together_first():
    filters = extension_filters([(".yaml", "graph"), (".yml", "yaml"), (".png", "PNG")])
    assert filters[0] == "All supported (*.yaml *.yml *.png){.yaml,.yml,.png}"
    assert filters[1:] == [".yaml", ".yml", ".png", ".*"]
    assert extension_filters([(".png", "PNG")]) == [".png", ".*"]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return shared_app(tmp_path_factory)


def test_open_dialog_lists_graphs_yaml_and_png_together(app):
    app.open_dialog()
    dialog = app.dialogs.file_dialog
    kinds = [dpg.get_item_configuration(c).get("extension")
             for c in dpg.get_item_children(dialog, 0) + dpg.get_item_children(dialog, 1)
             if dpg.get_item_type(c).endswith("mvFileExtension")]
    assert kinds and ".yaml" in kinds[0] and ".png" in kinds[0] and ".yml" in kinds[0]
    app.dialogs.cancel_file()
    app.pump(2)


def test_ctrl_s_on_an_untitled_graph_asks_where_and_never_overwrites(app, tmp_path, monkeypatch):
    app.history.mark_saved()
    app.new_document()
    app.add_node("pixels")
    monkeypatch.setattr(app.run_panel, "pixels", np.full((8, 8, 3), 128, np.uint8))
    assert app.save_image() is None                       # asks instead of writing
    assert app.dialogs.file_dialog is not None and "where" in app.status_text
    app.dialogs.cancel_file()
    app.pump(2)
    first = app.save_image(tmp_path / "mine")
    second = app.save_image(tmp_path / "mine.png")
    assert first == tmp_path / "mine.png" and second == tmp_path / "mine-1.png"
    # the image carries the graph that made it: the last run's, or the editor's
    made_by = app.runner.graph or app.history.graph
    assert read_png_graph(first).nodes.keys() == made_by.nodes.keys()
    app.history.mark_saved()


def test_values_dragged_in_32_bit_fields_are_saved_as_typed(app):
    app.history.mark_saved()
    app.open_template(TEMPLATES / "strawberries.graph.yaml")
    app.pump(2)
    widget = app.editor.nodes["pixels"].params["init_mean"]
    assert widget.mode == "drag"
    fire(widget.input, [f32(0.45), f32(0.4), f32(0.4), 0.0])     # what Dear PyGui hands over
    assert app.history.graph.nodes["pixels"].params["init_mean"] == [0.45, 0.4, 0.4]
    sigma = app.editor.nodes["train"].params["learnrate"]
    fire(sigma.input, f32(0.3))
    text = dumps_graph(app.history.graph)
    assert "init_mean: [0.45, 0.4, 0.4]" in text and "learnrate: 0.3" in text
    assert "00000" not in text
    app.history.mark_saved()
