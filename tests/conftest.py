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
