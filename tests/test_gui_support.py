"""Shared by the GUI tests: a display (Xvfb, started here when DISPLAY is unset), an App
per test module (Dear PyGui allows one context at a time) and frame pumping.

Also tests what needs no window: the clear error without a display.
"""

import atexit
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "graphs"
_xvfb: subprocess.Popen | None = None


def ensure_display() -> str:
    """DISPLAY as it is, or a fresh Xvfb server (killed when the tests end). Fails, does not
    skip, when Xvfb is missing: the GUI tests are part of the suite."""
    global _xvfb
    if os.environ.get("DISPLAY"):
        return os.environ["DISPLAY"]
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.fail("the GUI tests need a display: DISPLAY is not set and Xvfb is not installed "
                    "(install it: apt-get install xvfb)", pytrace=False)
    read, write = os.pipe()
    _xvfb = subprocess.Popen([exe, "-displayfd", str(write), "-screen", "0", "1920x1080x24",
                              "-nolisten", "tcp"], pass_fds=(write,),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=_die_with_parent)
    os.close(write)
    number, deadline = b"", time.monotonic() + 20
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read], [], [], 0.5)
        if ready:
            chunk = os.read(read, 16)
            if not chunk:
                break
            number += chunk
    os.close(read)
    if not number.strip():
        _xvfb.kill()
        pytest.fail("Xvfb did not start", pytrace=False)
    os.environ["DISPLAY"] = f":{number.decode().strip()}"
    atexit.register(_stop_xvfb)
    return os.environ["DISPLAY"]


def _die_with_parent() -> None:
    """Linux: Xvfb gets SIGTERM when the test process dies, even if it crashes."""
    try:
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop_xvfb() -> None:
    if _xvfb is not None and _xvfb.poll() is None:
        _xvfb.terminate()
        try:
            _xvfb.wait(5)
        except subprocess.TimeoutExpired:
            _xvfb.kill()


def preload_torch() -> None:
    """Import torch's stack (clip -> torchvision -> triton) before the first OpenGL context.

    Loading triton's LLVM into a process that already holds Mesa's (llvmpipe, radeonsi)
    crashes it. The editor never imports torch (training runs in its own process), but this
    test process does: other test modules and the tiny CLIP load it, maybe after a GUI test.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import clip  # noqa: F401
        except ImportError:
            pass


_app = None


def shared_app(tmp_path_factory, run_options=None):
    """The one App of this test process, made on first use and closed when the process
    ends. Dear PyGui allows one context at a time, and making a second one after the first
    was destroyed is not reliable (it crashes now and then), so every GUI test module uses
    this App and starts from a new document."""
    global _app
    if _app is None or _app.closed:
        ensure_display()
        preload_torch()
        from clipig_nodes.gui.app import App
        _app = App(None, state_dir=tmp_path_factory.mktemp("gui-state"), offer_recovery=False,
                   vsync=False, width=1600, height=960, max_fps=None)
        atexit.register(_app.close)
    _app.run_options = dict(run_options or {})
    _app.dialogs.current and _app.dialogs.current.close()
    _hide_floating_windows(_app)
    _app.history.mark_saved()
    _app.new_document()
    _app.pump(1)
    return _app


def _hide_floating_windows(app) -> None:
    """What an earlier module left open over the canvas (the Graph inputs and preview windows
    sit at the top left, over the graph a screenshot test looks at) does not carry into the
    next."""
    import dearpygui.dearpygui as dpg

    app.gallery.close()
    for floating in (getattr(app, "inputs_window", None), getattr(app, "template_form", None),
                     app.preview_window):
        if floating is not None and floating.window is not None and dpg.does_item_exist(floating.window):
            dpg.configure_item(floating.window, show=False)


def fire(item, app_data=None, user_data=None):
    """Run an item's callback as Dear PyGui does: (sender, app_data, user_data), cut to the
    number of arguments the callback takes."""
    import inspect

    import dearpygui.dearpygui as dpg

    callback = dpg.get_item_callback(item)
    if user_data is None:
        user_data = dpg.get_item_user_data(item)
    args = (item, app_data, user_data)
    try:
        params = inspect.signature(callback).parameters.values()
        if not any(p.kind == p.VAR_POSITIONAL for p in params):
            args = args[:len(params)]
    except (TypeError, ValueError):
        pass
    return callback(*args)


def pump_until(app, condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.frame()
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}; status: {app.status_text}")


# --- no window needed --------------------------------------------------------------------------

def test_no_display_is_one_clear_error(monkeypatch, capsys):
    import argparse

    from clipig_nodes.cli import gui_cmd

    monkeypatch.delenv("DISPLAY", raising=False)
    parser = argparse.ArgumentParser()
    gui_cmd.add_arguments(parser)
    assert gui_cmd.run(parser.parse_args([])) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DISPLAY" in err and "xvfb-run" in err


def test_editor_process_does_not_import_dearpygui_or_torch_for_graph_work():
    code = ("import sys; import clipig_nodes.graph.commands, clipig_nodes.graph.clipboard, "
            "clipig_nodes.gui.files, clipig_nodes.gui.runner; "
            "print('torch' in sys.modules, 'dearpygui' in sys.modules)")
    out = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    assert out == ["False", "False"]


RUN_WITHOUT_TORCH = """
import sys, time
sys.path.insert(0, {root!r})
from clipig_nodes.graph.fileformat import load_graph
from clipig_nodes.gui.runner import Runner
if __name__ == "__main__":
    graph = load_graph({template!r})
    graph.set_param("pixels", "resolution", [48, 48])
    graph.set_param("center_crop", "size", [32, 32])
    graph.set_param("train", "epochs", 6)
    runner = Runner()
    runner.start(graph, {{"model": {model!r}, "device": "cpu"}})
    kinds, deadline = [], time.monotonic() + 120
    while runner.state != "finished" and time.monotonic() < deadline:
        kinds += [m.kind for m in runner.drain() if m.image is not None or m.stats]
        time.sleep(0.02)
    state = runner.state
    runner.shutdown()
    print(state, "torch" in sys.modules, "epoch" in kinds and "done" in kinds)
"""


def test_training_runs_in_its_own_process_and_torch_stays_out_of_the_editor(tiny_clip, tmp_path):
    """The editor process never imports torch, not even to unpickle what training sends:
    torch's triton next to an OpenGL driver built on LLVM crashes a process."""
    script = tmp_path / "run.py"
    script.write_text(RUN_WITHOUT_TORCH.format(root=str(ROOT), model=tiny_clip,
                                               template=str(TEMPLATES / "strawberries.graph.yaml")))
    done = subprocess.run([os.sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180)
    assert done.stdout.split() == ["finished", "False", "True"], done.stderr


def test_screenshot_command_trains_and_saves_a_new_file(tiny_clip, tmp_path):
    """`main.py gui FILE --screenshot OUT --run-epochs N` (what made docs/editor.png)."""
    out = tmp_path / "editor.png"
    out.write_bytes(b"taken")                    # never overwritten: the next free name is used
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from clipig_nodes.gui.screenshot import take_screenshot\n"
            "if __name__ == '__main__':\n"
            "    sys.exit(take_screenshot(%r, %r, run_epochs=1, size=(1280, 800),\n"
            "                             run_options={'model': %r, 'device': 'cpu'}))\n"
            % (str(ROOT), str(out), str(TEMPLATES / "lighthouse-in-a-storm.graph.yaml"), tiny_clip))
    script = tmp_path / "shot.py"
    script.write_text(code)
    ensure_display()
    done = subprocess.run([os.sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "editor-1.png"
    assert done.stdout.strip() == str(written) and out.read_bytes() == b"taken"
    from PIL import Image
    with Image.open(written) as image:
        assert image.size == (1280, 800)
        small = np.asarray(image.convert("RGB").resize((64, 40))).reshape(-1, 3)
        assert len({tuple(p) for p in small}) > 20


PREVIEW_THROUGH_WORKER = """
import sys, time
sys.path.insert(0, {root!r})
from clipig_nodes.graph.fileformat import load_graph
from clipig_nodes.gui.runner import Runner
if __name__ == "__main__":
    graph = load_graph({template!r})
    graph.set_param("pixels", "resolution", [48, 40])
    graph.set_param("center_crop", "size", [32, 32])
    graph.set_param("train", "epochs", 400)
    runner = Runner()
    runner.start(graph, {{"model": {model!r}, "device": "cpu"}})
    asked, shapes, missing, deadline = False, set(), [], time.monotonic() + 120
    while not (shapes and missing) and time.monotonic() < deadline:
        for m in runner.drain():
            if m.kind == "started" and not asked:
                runner.request_preview("random_rotate", "image")
                runner.request_preview("ghost", "image")          # not in the running graph
                asked = True
            if m.kind == "preview" and m.message == "random_rotate.image":
                shapes.add(m.image.shape)
            if m.kind == "preview" and m.message == "ghost.image":
                missing.append(m.image is None)
        time.sleep(0.02)
    runner.stop()
    runner.shutdown()
    print(sorted(shapes), "torch" in sys.modules, missing)
"""


def test_the_training_process_answers_a_preview_request(tiny_clip, tmp_path):
    """Preview output (node menu): the worker sends the image of any IMAGE output, and a
    preview without an image for an output the running graph lacks."""
    script = tmp_path / "preview.py"
    script.write_text(PREVIEW_THROUGH_WORKER.format(
        root=str(ROOT), model=tiny_clip, template=str(TEMPLATES / "strawberries.graph.yaml")))
    done = subprocess.run([os.sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180)
    assert done.stdout.split("\n")[0] == "[(40, 48, 3)] False [True]", done.stdout + done.stderr
