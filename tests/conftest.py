import pytest

from clipig_nodes.registry import default_registry


@pytest.fixture(scope="session")
def registry():
    return default_registry()


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    """Path of a tiny random CLIP checkpoint (input 32x32)."""
    from .tiny_clip import build_tiny_clip
    return str(build_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip.pt"))


# Modules that drive the real editor window (Dear PyGui on Mesa under Xvfb) in this process.
# They run in a test process of their own (`-m gui`, the README's test command): a training
# run left behind by an editor test slowed the timing-sensitive tests after it, and another
# module's own Dear PyGui context, destroyed, took the shared editor's with it (a SIGSEGV).
# (tests/test_inputs_panel.py makes and destroys a Dear PyGui context of its own, without a
# window: it stays in the other process, where it cannot destroy the shared editor's context.)
GUI_MODULES = {"test_gui_editor", "test_gui_files", "test_gui_groups", "test_gui_inputs",
               "test_gui_view", "test_gui_window", "test_video_editor"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in GUI_MODULES:
            item.add_marker(pytest.mark.gui)


def pytest_runtest_setup(item):
    # `-m cuda` on a machine without a GPU is a mistake, not a reason to pass quietly
    if item.get_closest_marker("cuda"):
        import torch
        if not torch.cuda.is_available():
            pytest.fail("this test needs a CUDA GPU (run -m cuda on a GPU machine)")


def pytest_addoption(parser):
    parser.addoption("--fuzz-examples", type=int, default=None,
                     help="inputs tried by tests/test_fuzz.py (default: a CI-sized number)")
    parser.addoption("--kill-trials", type=int, default=10,
                     help="runs killed with SIGKILL at a random moment by "
                          "tests/test_interrupts.py (default 10)")
@pytest.fixture(scope="session")
def toy_clip():
    """Path of the toy-world CLIP (seed 0), trained once per version of its training code
    and cached under ~/.cache/clipig-nodes/toyworld (CLIPIG_NODES_CACHE moves it)."""
    from clipig_nodes.toyworld.train import cached_model
    return str(cached_model(0))


# --- leaving the test process ----------------------------------------------------------------
# The process holds native libraries that do not all survive the interpreter's teardown
# together (Dear PyGui's context on Mesa's OpenGL, torch, Ray): one full run ended with a
# SIGSEGV after its last test had passed, which would turn a green run red. Once pytest has
# reported, what the tests started is stopped here and the process leaves with pytest's own
# exit status, without running native destructors.

def pytest_sessionfinish(session, exitstatus):
    session.config._clipig_exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    import os
    import sys

    status = getattr(config, "_clipig_exit_status", None)
    if status is None:
        return
    gui = sys.modules.get("tests.test_gui_support")
    if gui is not None:
        gui._stop_xvfb()
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
