"""The templates in graphs/ are starting points users open: each must be clean."""

from pathlib import Path

import pytest

from clipig_nodes.graph.fileformat import load_graph
from clipig_nodes.graph.validate import validate

GRAPHS = sorted((Path(__file__).resolve().parent.parent / "graphs").glob("*.graph.yaml"))


def test_there_are_templates():
    names = {p.name for p in GRAPHS}
    assert "strawberries.graph.yaml" in names and len(names) >= 9


@pytest.mark.parametrize("path", GRAPHS, ids=lambda p: p.name)
def test_template_validates_cleanly(path, registry):
    graph = load_graph(path)
    assert graph.description, "a template says what it makes"
    assert validate(graph, registry, check_files=True, base_dir=path.parent) == []
    assert any(n.type == "text_feature" for n in graph)
