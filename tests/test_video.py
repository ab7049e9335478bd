"""Progress video: the recorder (frames, sizes, never over a file, clear messages) and
`run --video` end to end on the tiny CLIP."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from clipig_nodes.graph.pngmeta import free_path
from clipig_nodes.video import VideoError, VideoRecorder, to_frame

ROOT = Path(__file__).resolve().parent.parent


def read_frames(path):
    import imageio.v2 as imageio
    with imageio.get_reader(str(path)) as reader:
        return [frame for frame in reader]


def test_frames_are_written_in_order_and_sizes_kept(tmp_path):
    path = tmp_path / "run.mp4"
    video = VideoRecorder(path, fps=10)
    for value in (0, 100, 200):
        video.add(np.full((31, 45, 3), value, np.uint8))     # odd sides: padded to even
    video.add(np.full((62, 90, 3), 0.5, np.float32))         # a resolution switch: resized
    assert video.close() == path
    frames = read_frames(path)
    assert len(frames) == 4
    assert all(f.shape == (32, 46, 3) for f in frames)
    means = [float(f[:31, :45].mean()) for f in frames]
    assert means[0] < 5 and abs(means[1] - 100) < 5 and abs(means[2] - 200) < 5
    assert abs(means[3] - 128) < 5
    assert not list(tmp_path.glob(".*partial*"))            # no partial file left


def test_tensor_frames(tmp_path):
    import torch
    image = torch.zeros(1, 3, 8, 10)
    image[:, 0] = 1.0
    frame = to_frame(image)
    assert frame.shape == (8, 10, 3) and frame[..., 0].min() == 255 and frame[..., 1].max() == 0


def test_never_over_an_existing_file(tmp_path):
    path = tmp_path / "taken.mp4"
    path.write_bytes(b"mine")
    with pytest.raises(VideoError, match="exists; a video is never written over a file"):
        VideoRecorder(path)
    assert path.read_bytes() == b"mine"
    assert free_path(path) == tmp_path / "taken-1.mp4"


def test_a_file_that_appears_while_recording_is_not_replaced(tmp_path):
    path = tmp_path / "race.mp4"
    video = VideoRecorder(path)
    video.add(np.zeros((16, 16, 3), np.uint8))
    path.write_bytes(b"someone else's")
    with pytest.raises(VideoError, match="appeared while recording; the video is kept as"):
        video.close()
    assert path.read_bytes() == b"someone else's"
    assert video.partial.stat().st_size > 0


@pytest.mark.parametrize("name, words", [("out.gif", "needs a .mp4"),
                                         ("missing/out.mp4", "does not exist")])
def test_bad_names(tmp_path, name, words):
    with pytest.raises(VideoError, match=words):
        VideoRecorder(tmp_path / name)


def test_no_frames_no_file(tmp_path):
    video = VideoRecorder(tmp_path / "empty.mp4")
    assert video.close() is None
    assert not list(tmp_path.iterdir())


def test_missing_imageio_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio", None)
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    with pytest.raises(VideoError, match=r"pip install 'clipig-nodes\[video\]'"):
        VideoRecorder(tmp_path / "x.mp4")


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "run", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def test_run_with_video(tmp_path, tiny_clip):
    graph = ROOT / "graphs" / "strawberries.graph.yaml"
    done = run_cli(str(graph), "-o", str(tmp_path) + "/", "--model", tiny_clip, "--device",
                   "cpu", "--epochs", "7", "--seed", "1", "--video", str(tmp_path / "p.mp4"),
                   "--video-every", "2", "-v", "0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    frames = read_frames(tmp_path / "p.mp4")
    assert len(frames) == 4          # epochs 2, 4, 6 and the final image (7)
    assert frames[0].shape == (512, 512, 3)
    assert f"video: {tmp_path / 'p.mp4'} (4 frames)" in done.stderr
    # the same command again: the video exists, nothing runs, nothing is overwritten
    before = (tmp_path / "p.mp4").read_bytes()
    again = run_cli(str(graph), "-o", str(tmp_path) + "/", "--model", tiny_clip, "--device",
                    "cpu", "--epochs", "1", "--video", str(tmp_path / "p.mp4"), cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip() == (f"--video: {tmp_path / 'p.mp4'} exists; a video is never "
                                    "written over a file (choose another name)")
    assert (tmp_path / "p.mp4").read_bytes() == before
    assert len(list(tmp_path.glob("*.png"))) == 1


def test_recorder_imports_without_torch():
    """The editor's UI process records from arrays and must never import torch."""
    code = ("import sys\nimport clipig_nodes.video\nimport clipig_nodes.gui.run_panel\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_record_toggle_makes_one_video_per_run(tmp_path):
    from clipig_nodes.video import Recording
    recording = Recording(tmp_path)
    frame = np.full((20, 24, 3), 90, np.uint8)
    assert recording.feed("started", frame) is None            # toggle off: nothing
    assert recording.set_wanted(True) == f"recording to {tmp_path / 'clipig-run.mp4'}"
    for _ in range(3):
        assert recording.feed("epoch", frame) is None
    assert recording.feed("done", frame) == f"video: {tmp_path / 'clipig-run.mp4'} (4 frames)"
    # the next run, toggle still on: a new file beside the first
    assert recording.feed("started", None) == f"recording to {tmp_path / 'clipig-run-1.mp4'}"
    recording.feed("epoch", frame)
    assert recording.set_wanted(False) == f"video: {tmp_path / 'clipig-run-1.mp4'} (1 frames)"
    recording.feed("epoch", frame)
    recording.feed("stopped", frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clipig-run-1.mp4", "clipig-run.mp4"]
    assert len(read_frames(tmp_path / "clipig-run.mp4")) == 4


def test_a_node_preview_is_not_a_frame_of_the_run_video(tmp_path):
    """The editor feeds every run message to the recording; previews of other node outputs
    (another size, another picture) carry images too, and must stay out of the video."""
    from clipig_nodes.video import Recording
    recording = Recording(tmp_path)
    recording.set_wanted(True)
    recording.feed("started")
    frame, preview = np.full((20, 24, 3), 90, np.uint8), np.full((8, 8, 3), 250, np.uint8)
    for _ in range(2):
        recording.feed("epoch", frame)
        assert recording.feed("preview", preview) is None
    assert recording.feed("done", frame) == f"video: {tmp_path / 'clipig-run.mp4'} (3 frames)"
    assert all(abs(float(f[:20, :24].mean()) - 90) < 5 for f in read_frames(tmp_path / "clipig-run.mp4"))


def test_a_bad_frame_stops_the_recording_and_leaves_no_partial_file(tmp_path):
    from clipig_nodes.video import Recording
    recording = Recording(tmp_path)
    recording.set_wanted(True)
    recording.feed("started")
    recording.feed("epoch", np.full((20, 24, 3), 90, np.uint8))
    note = recording.feed("epoch", np.zeros((20, 24, 4), np.uint8))
    assert note.startswith("recording stopped: a frame must be [H,W,3]")
    assert list(tmp_path.iterdir()) == []                  # the partial file is gone with it
