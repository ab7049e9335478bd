"""The editor's Record toggle in the real window (Xvfb): a short run with the tiny test CLIP
is written as a video beside the others, never over a file."""

import dearpygui.dearpygui as dpg
import pytest

from clipig_nodes.graph import commands as C

from .test_gui_support import TEMPLATES, fire, pump_until, shared_app


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_clip):
    app = shared_app(tmp_path_factory, run_options={"model": tiny_clip, "device": "cpu"})
    yield app
    app.runner.shutdown()


def test_record_toggle_writes_the_run_as_a_video(app, tmp_path):
    import imageio.v2 as imageio

    app.history.mark_saved()
    app.open_path(TEMPLATES / "strawberries.graph.yaml", template=True)
    for node, name, value in [("pixels", "resolution", [64, 64]),
                              ("center_crop", "size", [48, 48]), ("train", "epochs", 12)]:
        app.execute(C.SetParam(node, name, value))
    app.history.seal()
    panel = app.run_panel
    panel.recording.folder = tmp_path
    (tmp_path / "clipig-run.mp4").write_bytes(b"an older video")
    fire(panel.record_box, True)
    assert app.start_run()
    pump_until(app, lambda: app.runner.state == "finished", 120, "the run to finish")
    app.pump(3)
    video = tmp_path / "clipig-run-1.mp4"
    assert dpg.get_value(panel.record_note).startswith(f"video: {video} (")
    assert dpg.get_item_configuration(panel.record_note)["show"]
    with imageio.get_reader(str(video)) as reader:
        frames = [frame for frame in reader]
    assert len(frames) >= 1 and frames[0].shape == (64, 64, 3)
    assert (tmp_path / "clipig-run.mp4").read_bytes() == b"an older video"
    fire(panel.record_box, False)
    assert panel.recording.video is None
