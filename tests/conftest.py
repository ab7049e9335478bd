import pytest

from clipig_nodes.registry import default_registry


@pytest.fixture(scope="session")
def registry():
    return default_registry()
