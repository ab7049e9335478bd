"""Huge numbers in graph files and legacy configs end in a validation error naming the node
and param (or the line), never an internal error (Python's int/float conversion limits)."""

import pytest

from clipig_nodes.graph.fileformat import save_graph
from clipig_nodes.registry import Int
from clipig_nodes.values import ValueProblem, parse_value

from .graph_builders import strawberries
from .test_cli import cli

HUGE = [
    ("learnrate", "int(1e308)**4"),
    ("learnrate", int("9" * 999)),              # an unquoted 999-digit literal
    ("learnrate", "9" * 5000),                  # a quoted 5000-digit number
    ("epochs", int("9" * 999)),
    ("epochs", "9" * 5000),
    ("epochs", "-" + "9" * 5000),
]


@pytest.mark.parametrize("param,raw", HUGE)
def test_huge_number_in_graph_names_node_and_param(tmp_path, param, raw):
    g = strawberries()
    g.set_param("train", param, raw)
    path = tmp_path / "huge.graph.yaml"
    save_graph(g, path)
    result = cli("validate", str(path))
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr + result.stdout
    out = result.stdout + result.stderr
    assert f"node 'train' param '{param}'" in out
    assert "too large" in out
    assert len(out) < 400              # the number itself is not printed


def test_unquoted_5000_digit_yaml_int_is_reported_at_its_param(tmp_path):
    path = tmp_path / "huge.graph.yaml"
    save_graph(strawberries(), path)
    text = path.read_text().replace("kernel_size: [5, 5]", f"kernel_size: [{'9' * 5000}, 5]")
    assert "9" * 5000 in text
    path.write_text(text)
    result = cli("validate", str(path))
    assert result.returncode == 1
    assert ("node 'blur_constraint' param 'kernel_size': item 1: a 5000-digit number is too "
            "large") in result.stdout + result.stderr


def test_unquoted_5000_digit_legacy_value_names_its_line(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text(f"epochs: 10\nlearnrate: {'9' * 5000}\ntargets:\n- features:\n  - text: hi\n")
    result = cli("validate", str(path))
    assert result.returncode == 1
    assert f"{path}:2: learnrate: a 5000-digit number is too large" in result.stdout + result.stderr


def test_parse_value_bounds():
    p = Int("n", 1, minimum=0)
    assert parse_value(p, str(2**63 - 1)) == 2**63 - 1     # the largest int a param takes
    with pytest.raises(ValueProblem, match=r"too large \(at most 2\*\*63 - 1\)"):
        parse_value(p, "9" * 300)
    with pytest.raises(ValueProblem, match="a 310-digit number is too large"):
        parse_value(p, "1" + "0" * 309)
    with pytest.raises(ValueProblem, match="too large"):
        parse_value(p, "2**2000")
