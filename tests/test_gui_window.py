"""The real window under Xvfb: a template drawn (nodes and links in the frame buffer),
links made and refused, a few epochs trained with the tiny test CLIP (the live image
changes), Update mid-run, Save image, save and reopen, the unsaved-changes question,
and recovery after a crash."""

import os
import subprocess
import sys
import textwrap

import dearpygui.dearpygui as dpg
import numpy as np
import pytest
from PIL import Image

from clipig_nodes.graph import commands as C
from clipig_nodes.graph.fileformat import load_graph
from clipig_nodes.graph.model import Link
from clipig_nodes.graph.pngmeta import read_png_graph
from clipig_nodes.gui.theme import BACKGROUND, SOCKET_COLORS

from .test_gui_support import ROOT, TEMPLATES, fire, shared_app, pump_until

STRAWBERRIES = TEMPLATES / "strawberries.graph.yaml"


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_clip):
    app = shared_app(tmp_path_factory, run_options={"model": tiny_clip, "device": "cpu"})
    yield app
    app.runner.shutdown()


@pytest.fixture
def state(app):
    return app.recovery.folder


def screenshot(app, path) -> np.ndarray:
    app.screenshot(path)
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_template_drawn_nodes_and_links_in_the_frame_buffer(app, tmp_path):
    app.open_path(STRAWBERRIES, template=True)
    app.pump(12)                 # opening fits the graph, then checks the fit over a few frames
    app.editor.set_zoom(1.0)     # nodes with their fields (smaller zooms fold them)
    (ox, oy), _ = app.editor.editor_rect()
    corner = app.editor.model_to_screen((0, 0))          # the graph's top-left corner in view
    app.editor.shift_view(ox + 30 - corner[0], oy + 30 - corner[1])
    app.pump(4)
    with_links = screenshot(app, tmp_path / "links.png")
    height, width = with_links.shape[:2]
    assert (width, height) == (dpg.get_viewport_client_width(), dpg.get_viewport_client_height())
    # every node Dear PyGui drew is there, not grid background
    visible = 0
    (ex, ey), (ew, eh) = app.editor.editor_rect()
    for node_id, view in app.editor.nodes.items():
        state = dpg.get_item_state(view.item)
        (x0, y0), (x1, y1) = state["rect_min"], state["rect_max"]
        if not state["visible"] or x0 < ex or y0 < ey or x1 > ex + ew or y1 > ey + eh:
            continue          # (partly) outside the editor's area: clipped
        region = with_links[y0:y1, x0:x1]
        background = np.all(np.abs(region - np.array(BACKGROUND)) <= 6, axis=-1).mean()
        assert region.size and background < 0.5, node_id
        visible += 1
    assert visible >= 3
    # links: hide them, and the pixels they covered change; those pixels have link colours
    for item in app.editor.links.values():
        dpg.configure_item(item, show=False)
    app.pump(2)
    without = screenshot(app, tmp_path / "nolinks.png")
    for item in app.editor.links.values():
        dpg.configure_item(item, show=True)
    app.pump(2)
    changed = np.any(np.abs(with_links - without) > 30, axis=-1)
    assert changed.sum() > 200
    colours = with_links[changed]
    link_like = np.zeros(len(colours), bool)
    for colour in SOCKET_COLORS.values():
        link_like |= np.all(np.abs(colours - np.array(colour)) <= 60, axis=-1)
    assert link_like.mean() > 0.5


def test_links_made_and_refused_in_the_window(app, tmp_path):
    app.open_path(STRAWBERRIES, template=True)
    app.pump(3)
    editor = app.editor
    app.execute(C.AddNode("text_feature", "more", {"text": "a bowl of cream"}, (1500, 500)))
    app.pump(3)
    before = screenshot(app, tmp_path / "before.png")
    out, into = editor.nodes["more"].outputs["feature"], editor.nodes["random_sampler"].inputs["features"]
    assert fire(editor.editor, (out, into)) is True
    app.pump(3)
    after = screenshot(app, tmp_path / "after.png")
    assert np.any(np.abs(after - before) > 30, axis=-1).sum() > 50       # the new link is drawn
    wrong = editor.nodes["random_shift"].inputs["image"]
    assert fire(editor.editor, (out, wrong)) is False
    assert "FEATURE cannot feed IMAGE" in app.status_text
    app.pump(2)


def small(app):
    """The template made quick for the CPU: 64x64 pixels, 32x32 crops, a long run."""
    app.history.mark_saved()
    app.open_path(STRAWBERRIES, template=True)
    for node, name, value in [("pixels", "resolution", [64, 64]),
                              ("center_crop", "size", [48, 48]),
                              ("random_sampler", "batch_size", 3),
                              ("train", "epochs", 100000)]:
        app.execute(C.SetParam(node, name, value))
    app.history.seal()


def test_training_shows_a_changing_live_image(app):
    small(app)
    assert app.start_run()
    assert app.run_panel.state == "loading"
    pump_until(app, lambda: app.run_panel.image_version >= 1, 90, "the first image")
    first = np.array(dpg.get_value(app.run_panel.image_texture))
    assert first.size == 64 * 64 * 4
    version = app.run_panel.image_version
    pump_until(app, lambda: app.run_panel.image_version >= version + 3
               and app.run_panel.epoch >= 10, 60, "more epochs")
    later = np.array(dpg.get_value(app.run_panel.image_texture))
    assert np.abs(later - first).max() > 1 / 255
    assert dpg.get_value(app.run_panel.progress) > 0
    assert "epochs/s" in dpg.get_value(app.run_panel.info)
    pump_until(app, lambda: app.run_panel.losses_x and app.run_panel.stats_table, 30, "stats")
    xs, ys = dpg.get_value(app.run_panel.loss_series)[:2]
    assert len(xs) == len(ys) >= 1
    assert "random sampler" in app.run_panel.view_items       # what CLIP sees, per target
    texture = app.run_panel.view_items["random sampler"][1]
    assert dpg.get_item_configuration(texture) is not None
    assert app.runner.state == "running" and app.run_panel.state == "running"
    # the editor keeps rendering while the training process works
    frames = app.frames
    app.pump(10)
    assert app.frames == frames + 10


def test_update_applies_edits_to_the_running_training(app):
    assert app.runner.state == "running"
    widget = app.editor.nodes["train"].params["learnrate"]
    fire(widget.input, 0.5)
    app.pump(1)
    assert dpg.get_item_configuration(app.run_panel.update_button)["enabled"]
    fire(app.run_panel.update_button)
    pump_until(app, lambda: app.runner.updates_applied >= 1, 30, "the update")
    assert app.runner.graph.nodes["train"].params["learnrate"] == 0.5
    assert not dpg.get_item_configuration(app.run_panel.update_button)["enabled"]
    # a structural edit: a new feature, wired in
    app.execute(C.AddNode("text_feature", "cream", {"text": "cream"}, (1500, 600)))
    app.execute(C.Connect(Link("cream", "feature", "random_sampler", "features")))
    epoch = app.run_panel.epoch
    assert app.update_run()
    pump_until(app, lambda: app.runner.updates_applied >= 2, 30, "the second update")
    assert "cream" in app.runner.graph.nodes
    pump_until(app, lambda: app.run_panel.epoch > epoch + 3, 30, "training to go on")
    assert app.runner.state == "running"


def test_save_image_embeds_the_graph_and_never_overwrites(app, tmp_path):
    app.execute(C.SetParam("train", "output", f"{tmp_path}/"))
    first = app.save_image()
    second = app.save_image()
    assert first and second and first != second
    assert first.parent == tmp_path and first.stat().st_size > 0 and second.stat().st_size > 0
    assert read_png_graph(first).nodes["train"].params["seed"] == \
        app.runner.graph.nodes["train"].params["seed"]
    assert "cream" in read_png_graph(first).nodes
    # the PNG opens as the graph inside it (training goes on meanwhile)
    app.history.mark_saved()
    app.open_path(first)
    assert app.document.kind == "png" and app.document.path is None
    assert app.history.graph == read_png_graph(first)


def test_stop(app):
    app.stop_run()
    pump_until(app, lambda: app.runner.state == "finished", 30, "the run to stop")
    app.pump(2)
    assert app.run_panel.state == "finished"
    assert "stopped" in dpg.get_item_configuration(app.run_panel.progress)["overlay"]
    assert dpg.get_item_configuration(app.run_panel.start_button)["enabled"]


def test_save_and_reopen_gives_the_same_graph(app, tmp_path):
    small(app)
    app.execute(C.SetParam("text_feature", "text", "wild strawberries"))
    assert app.history.dirty
    path = tmp_path / "mine.graph.yaml"
    assert app.save_to(path)
    assert not app.history.dirty and app.document.path == path.resolve()
    assert dpg.get_viewport_title().startswith("mine.graph.yaml - ")
    saved = app.history.graph.copy()
    app.open_path(path)                       # not dirty: no question
    assert app.dialogs.current is None
    assert app.history.graph == saved == load_graph(path)
    assert path.resolve() in app.recent.load()


def test_legacy_yaml_import_export_and_png_reopen(app, tmp_path):
    from .legacy_examples import STRAWBERRIES as LEGACY

    config = tmp_path / "strawberries.yaml"
    config.write_text(LEGACY)
    app.history.mark_saved()
    app.open_path(config)
    assert app.document.kind == "legacy" and app.document.path is None
    graph = app.history.graph
    assert {n.type for n in graph} >= {"pixels", "train", "target", "text_feature"}
    assert len({n.pos for n in graph}) == len(graph)              # laid out, not piled up
    assert len(app.editor.nodes) == len(graph)
    assert app.document.suggested_path() == tmp_path.resolve() / "strawberries.graph.yaml"
    # export back to CLIPig YAML
    out = tmp_path / "back.yaml"
    problems = app.export_to(out)
    assert out.is_file() and not any(p.is_error for p in problems)
    assert "strawberries lying on the grass" in out.read_text()
    app.dialogs.current and app.dialogs.current.close()


def test_file_dialogs_open_and_close(app, tmp_path):
    app.history.mark_saved()
    for open_dialog in (app.open_dialog, app.save_as_dialog, app.import_dialog, app.export_dialog):
        open_dialog()
        dialog = app.dialogs.file_dialog
        assert dialog is not None and dpg.does_item_exist(dialog)
        app.pump(2)
        # what choosing a file does (the dialog's own callback), for Save as
        if open_dialog == app.save_as_dialog:
            path = tmp_path / "chosen"
            fire(dialog, {"file_path_name": str(path), "selections": {}})
            assert (tmp_path / "chosen.graph.yaml").is_file()
            assert app.document.path == (tmp_path / "chosen.graph.yaml").resolve()
        else:
            app.dialogs.cancel_file()
            assert app.dialogs.file_dialog is None
            assert not dpg.get_item_configuration(dialog)["show"]
        app.pump(1)


def test_unsaved_changes_are_never_dropped_unasked(app, tmp_path, monkeypatch):
    path = tmp_path / "keep.graph.yaml"
    app.save_to(path)
    app.execute(C.SetParam("train", "epochs", 77))
    assert dpg.get_viewport_title().startswith("keep.graph.yaml * ")
    # New: Cancel keeps everything, Discard starts over
    app.new_document()
    dialog = app.dialogs.current
    assert dialog is not None and "unsaved changes" in dialog.message
    assert set(dialog.buttons) == {"Save", "Discard", "Cancel"}
    fire(dialog.buttons["Cancel"])
    assert app.dialogs.current is None and app.history.graph.nodes["train"].params["epochs"] == 77
    app.new_document()
    fire(app.dialogs.current.buttons["Discard"])
    assert len(app.history.graph) == 0 and not app.history.dirty
    # Open: Save writes the changes first, then opens
    app.open_path(path)
    app.execute(C.SetParam("train", "epochs", 88))
    app.open_path(STRAWBERRIES, template=True)
    fire(app.dialogs.current.buttons["Save"])
    assert load_graph(path).nodes["train"].params["epochs"] == 88
    assert app.document.kind == "template"
    # Exit (the window's close button calls request_exit)
    quits = []
    monkeypatch.setattr(app, "_quit", lambda: quits.append(1))
    app.execute(C.SetParam("train", "epochs", 99))
    app.request_exit()
    fire(app.dialogs.current.buttons["Cancel"])
    assert quits == []
    app.request_exit()
    fire(app.dialogs.current.buttons["Discard"])
    assert quits == [1]


CRASH = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from clipig_nodes.graph import commands as C
    from clipig_nodes.gui.app import App
    app = App({template!r}, state_dir={state!r}, offer_recovery=False, vsync=False)
    app.pump(2)
    app.execute(C.SetParam("train", "epochs", 1234))
    app.execute(C.SetParam("text_feature", "text", "crashed strawberries"))
    app.autosave(force=True)
    os._exit(3)        # a crash: no cleanup
""")


def test_recovery_is_offered_after_a_crash(app, state):
    app.history.mark_saved()
    script = CRASH.format(root=str(ROOT), template=str(STRAWBERRIES), state=str(state))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    assert done.returncode == 3, done.stderr
    orphans = app.recovery.orphans()
    assert len(orphans) == 1
    assert app.check_recovery()
    dialog = app.dialogs.current
    assert "did not close properly" in dialog.message
    fire(dialog.buttons["Restore"])
    graph = app.history.graph
    assert graph.nodes["train"].params["epochs"] == 1234
    assert graph.nodes["text_feature"].params["text"] == "crashed strawberries"
    assert app.history.dirty                      # restored, not saved
    assert app.recovery.orphans() == []
    assert app.recovery.graph_file.is_file()      # autosaved again, as this process's
