"""Graph files: round trips, structural errors with their lines, atomic saves,
versions and migrations, kind detection, and fuzzing of the loader."""

from __future__ import annotations

import copy
import math
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipig_nodes.graph import fileformat as ff
from clipig_nodes.graph.migrations import MIGRATIONS, VERSION, migrate, migrate_1_to_2
from clipig_nodes.graph.model import Graph, Link
from clipig_nodes.problems import ProblemsError
from clipig_nodes.yamlio import load_yaml

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = "format: clipig-nodes-graph\nversion: 3\n"


def demo_graph() -> Graph:
    g = Graph("Strawberries on grass, 512x512")
    g.add_node("pixels", "pixels", {"resolution": [512, 512], "init_mean": [0.4, 0.4, 0.4]}, (40, 80))
    g.add_node("random_shift", "random_shift", {"range": [-1, 1]}, (300, 80.5))
    g.add_node("text_feature", "text", {"text": "strawberries", "weight": 1.5})
    g.add_node("text_feature", "text_2", {"text": "blurry", "weight": -0.5, "start": "30%"})
    g.add_node("target", "target", pos=(560, 80))
    g.add_node("train", "train", {"epochs": 300, "learnrate": "1. - .95 * t5", "cuda": None})
    g.connect("pixels", "image", "random_shift", "image")
    g.connect("random_shift", "image", "target", "image")
    g.connect("text_2", "feature", "target", "features")
    g.connect("text", "feature", "target", "features")
    g.connect("target", "target", "train", "targets")
    return g


def problems_of(text: str, source="g.graph.yaml"):
    with pytest.raises(ProblemsError) as info:
        ff.loads_graph(text, source)
    return info.value.problems


def find(problems, path):
    hits = [p for p in problems if p.path == path]
    assert hits, f"no problem at {path}: {[str(p) for p in problems]}"
    return hits[0]


# --- writing and reading ---------------------------------------------------------------------------

def test_round_trip_and_readable_text():
    g = demo_graph()
    text = ff.dumps_graph(g)
    assert ff.loads_graph(text) == g
    lines = text.splitlines()
    top = [line.split(":")[0] for line in lines if line and not line.startswith((" ", "-", "#"))]
    assert top == ["format", "version", "description", "nodes", "links"]     # no inputs: no section
    assert lines[0] == "format: clipig-nodes-graph" and lines[1] == "version: 3"
    assert any(line.strip() == "- pixels.image -> random_shift.image" for line in lines)
    assert any(line.strip() == "- text_2.feature -> target.features" for line in lines)
    assert "pos: [40, 80]" in text and "pos: [300, 80.5]" in text    # whole numbers as ints
    assert "resolution: [512, 512]" in text


def test_to_dict_shape():
    g = Graph()
    g.add_node("pixels", "p")
    g.add_node("blur", "b", {"radius": 2}, (1.5, -3))
    g.connect("p", "image", "b", "image")
    data = ff.graph_to_dict(g)
    assert list(data) == ["format", "version", "nodes", "links"]       # no empty description
    assert data["nodes"]["p"] == {"type": "pixels", "pos": [0, 0]}     # no empty params
    assert data["nodes"]["b"] == {"type": "blur", "pos": [1.5, -3], "params": {"radius": 2}}
    assert data["links"] == ["p.image -> b.image"]
    assert ff.graph_from_dict(data) == g


def test_empty_graphs_load():
    assert ff.loads_graph(HEADER + "nodes: {}\nlinks: []\n") == Graph()
    assert ff.loads_graph(HEADER) == Graph()
    assert ff.loads_graph(ff.dumps_graph(Graph())) == Graph()


def test_order_of_nodes_and_links_is_kept():
    g = ff.loads_graph(HEADER + "nodes:\n  z: {type: t}\n  a: {type: t}\n  m: {type: t}\n"
                       "links:\n  - z.o -> m.x\n  - a.o -> m.x\n")
    assert list(g.nodes) == ["z", "a", "m"]
    assert [link.src for link in g.links_into("m", "x")] == ["z", "a"]


def test_unknown_types_and_params_load():
    g = ff.loads_graph(HEADER + "nodes:\n  a: {type: no_such_type, params: {nonsense: [1, {x: y}]}}\n")
    assert g.node("a").type == "no_such_type"
    assert g.node("a").params == {"nonsense": [1, {"x": "y"}]}
    assert type(g.node("a").params) is dict and type(g.node("a").params["nonsense"]) is list


def test_save_and_load_file(tmp_path):
    path = tmp_path / ("demo" + ff.SUFFIX)
    ff.save_graph(demo_graph(), path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert ff.load_graph(path) == demo_graph()
    assert os.listdir(tmp_path) == [path.name]


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "g.graph.yaml"
    ff.save_graph(demo_graph(), path)
    before = path.read_bytes()
    changed = demo_graph()
    changed.set_param("train", "epochs", 1000)

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        ff.save_graph(changed, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]        # no temp file left behind
    ff.save_graph(changed, path)
    assert ff.load_graph(path).node("train").params["epochs"] == 1000


def test_unsaveable_values_are_named():
    g = Graph()
    g.add_node("blur", "b", {"radius": object()})
    g.add_node("blur", "c", pos=(math.inf, 0))
    with pytest.raises(ProblemsError) as info:
        ff.dumps_graph(g)
    paths = {p.path for p in info.value.problems}
    assert paths == {"nodes.b.params.radius", "nodes.c.pos"}


def test_load_graph_missing_file(tmp_path):
    with pytest.raises(ProblemsError) as info:
        ff.load_graph(tmp_path / "nope.graph.yaml")
    [problem] = info.value.problems
    assert problem.source == str(tmp_path / "nope.graph.yaml")
    assert str(problem) == f"{tmp_path / 'nope.graph.yaml'}: no such file"


# --- structural errors -----------------------------------------------------------------------------

def test_not_a_mapping_and_empty():
    assert "mapping" in str(problems_of("- a\n- b\n")[0])
    assert "empty" in str(problems_of("")[0])
    [p] = problems_of("nodes: [unclosed\n")
    assert p.source == "g.graph.yaml" and p.line is not None and "invalid YAML" in p.message


def test_format_and_version_errors():
    assert find(problems_of("version: 2\n"), "format").line == 1     # missing: the mapping's line
    p = find(problems_of("format: clipig\nversion: 2\n"), "format")
    assert p.line == 1 and "clipig-nodes-graph" in p.message
    assert "version" in find(problems_of("format: clipig-nodes-graph\n"), "version").message
    p = find(problems_of("format: clipig-nodes-graph\nversion: two\n"), "version")
    assert p.line == 2
    p = find(problems_of("format: clipig-nodes-graph\nversion: 7\nnodes: {}\n"), "version")
    assert p.message == ("written by a newer clipig-nodes (format version 7); "
                         "this one reads versions 1 to 3")
    assert "start at 1" in find(problems_of("format: clipig-nodes-graph\nversion: 0\n"), "version").message
    find(problems_of("format: clipig-nodes-graph\nversion: true\n"), "version")
    find(problems_of("format: clipig-nodes-graph\nversion: 2.0\n"), "version")


def test_many_problems_at_once_with_lines():
    text = HEADER + """\
description: [not, text]
extra: 1
nodes:
  good: {type: pixels}
  bad id!: {type: blur}
  no_type: {pos: [1, 2]}
  bad_type: {type: [blur]}
  bad_pos:
    type: blur
    pos: [1, .inf]
  short_pos: {type: blur, pos: [1]}
  bad_params: {type: blur, params: [1, 2]}
  bad_names:
    type: blur
    params:
      3: x
      ok: 1
      when: 2024-01-01
      data: !!binary aGVsbG8=
      nested: {a: [1, {b: !!set {x}}]}
  typo: {type: blur, parms: {}}
  not_mapping: 3
links:
  - good.image -> missing.image
  - good.image good.image
  - good.image -> no_type.image
  - {from: a, to: b}
  - good.image -> good.in
  - good.image -> good.in
"""
    problems = problems_of(text)
    assert all(p.source == "g.graph.yaml" and p.is_error for p in problems)
    expect = {
        "description": 3, "extra": 4,
        "nodes.bad id!": 7, "nodes.no_type.type": 8, "nodes.bad_type.type": 9,
        "nodes.bad_pos.pos": 12, "nodes.short_pos.pos": 13, "nodes.bad_params.params": 14,
        "nodes.bad_names.params": 18, "nodes.bad_names.params.when": 20,
        "nodes.bad_names.params.data": 21, "nodes.bad_names.params.nested.a[1].b": 22,
        "nodes.typo.parms": 23, "nodes.not_mapping": 24,
        "links[0]": 26, "links[1]": 27, "links[3]": 29, "links[5]": 31,
    }
    for path, line in expect.items():
        assert find(problems, path).line == line, path
    assert "missing" in find(problems, "links[0]").message
    assert "duplicate link" in find(problems, "links[5]").message
    # a link to a node that is there but broken is not blamed again
    assert not [p for p in problems if p.path == "links[2]"]
    assert not [p for p in problems if p.path == "links[4]"]
    assert len(problems) == len(expect)


def test_duplicate_node_id_names_id_and_line():
    text = HEADER + "nodes:\n  blur: {type: blur}\n  pixels: {type: pixels}\n  blur: {type: blur}\n"
    [p] = problems_of(text)
    assert p.path == "nodes.blur" and p.line == 6
    assert "duplicate node id 'blur'" in p.message
    assert str(p).startswith("g.graph.yaml:6: nodes.blur:")


def test_other_duplicate_keys_are_errors_too():
    text = HEADER + "nodes:\n  blur:\n    type: blur\n    params: {radius: 1, radius: 2}\n"
    [p] = problems_of(text)
    assert p.line == 6 and "radius" in p.message and "node id" not in p.message


def test_nodes_and_links_of_wrong_kind():
    problems = problems_of(HEADER + "nodes: [a, b]\nlinks: {a: b}\n")
    assert find(problems, "nodes").line == 3
    assert find(problems, "links").line == 4


def test_graph_from_dict_reports_and_uses_lines_map():
    data = {"format": ff.FORMAT, "version": 2, "nodes": {"a": {"type": 5}}, "links": ["a.x -> b.y"]}
    with pytest.raises(ProblemsError) as info:
        ff.graph_from_dict(data, "mem", lines={"nodes.a.type": 9})
    assert find(info.value.problems, "nodes.a.type").line == 9
    assert find(info.value.problems, "links[0]").source == "mem"


def test_graph_from_dict_migrates_old_versions():
    data = {"format": ff.FORMAT, "version": 1, "nodes": [{"id": "a", "type": "t"}], "links": []}
    assert list(ff.graph_from_dict(data).nodes) == ["a"]


def test_id_with_trailing_newline_is_refused():
    find(problems_of(HEADER + 'nodes:\n  "a\\n": {type: t}\n'), "nodes.a\n")


def test_broken_yaml_values_are_problems():
    # PyYAML raises plain ValueError/KeyError for these; they must not escape
    for value in ["2001-13-45", "!!int abc", "!!bool maybe", "!!float x"]:
        with pytest.raises(ProblemsError):
            ff.loads_graph(HEADER + f"nodes:\n  a: {{type: t, params: {{x: {value}}}}}\n")


def test_alias_bomb_and_deep_nesting_are_refused_quickly():
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = HEADER + "nodes:\n  n:\n    type: t\n    params:\n" + "".join(f"      {l}\n" for l in lines)
    assert any("too much data" in p.message for p in problems_of(text))
    deep = HEADER + "nodes:\n  n: {type: t, params: {x: " + "[" * 200 + "]" * 200 + "}}\n"
    assert any("nested" in p.message for p in problems_of(deep))


# --- versions --------------------------------------------------------------------------------------

def test_version_constants():
    assert ff.VERSION == VERSION == 3 == 1 + len(MIGRATIONS)
    assert ff.FORMAT == "clipig-nodes-graph" and ff.SUFFIX == ".graph.yaml"


def test_v1_fixture_migrates_to_the_v2_equivalent():
    old = ff.load_graph(FIXTURES / "graph_v1.yaml")
    new = ff.load_graph(FIXTURES / "graph_v1_as_v2.yaml")
    assert old == new
    assert [str(link) for link in old.links_into("target", "features")] == [
        "text_2.feature -> target.features", "text.feature -> target.features"]
    assert ff.dumps_graph(old) == ff.dumps_graph(new)
    assert "version: 3" in ff.dumps_graph(old)


def test_v2_fixture_migrates_to_the_v3_equivalent():
    old = ff.load_graph(FIXTURES / "graph_v2.yaml")
    new = ff.load_graph(FIXTURES / "graph_v2_as_v3.yaml")
    assert old == new and old.inputs == {}
    assert ff.dumps_graph(old) == ff.dumps_graph(new)
    assert "version: 3" in ff.dumps_graph(old) and "inputs" not in ff.dumps_graph(old)
    data, _ = load_yaml((FIXTURES / "graph_v2.yaml").read_text(encoding="utf-8"))
    snapshot = copy.deepcopy(data)
    out = migrate(data)
    assert data == snapshot and out["version"] == 3
    assert {k: v for k, v in out.items() if k != "version"} == {k: v for k, v in data.items() if k != "version"}


def test_migrations_are_pure():
    data, _ = load_yaml((FIXTURES / "graph_v1.yaml").read_text(encoding="utf-8"))
    snapshot = copy.deepcopy(data)
    out = migrate(data)
    assert data == snapshot and out is not data
    assert out["version"] == 3 and isinstance(out["nodes"], dict)
    assert list(out["nodes"]) == ["pixels", "random_shift", "text", "text_2", "target", "train"]
    step = migrate_1_to_2(data)
    assert data == snapshot and "id" not in step["nodes"]["pixels"]
    assert out["links"][2] == "text_2.feature -> target.features"


def test_migrate_current_and_bad_versions():
    current = {"format": ff.FORMAT, "version": 3, "nodes": {}}
    assert migrate(current) == current
    for bad in ({"version": 4}, {"version": -1}, {"version": "1"}, {}, []):
        with pytest.raises(ProblemsError):
            migrate(bad, "f.yaml")


def test_migration_keeps_lines_for_later_errors():
    text = "format: clipig-nodes-graph\nversion: 1\nnodes:\n  - id: a\n    type: [x]\n"
    assert find(problems_of(text), "nodes.a.type").line == 5


def test_broken_v1_fixture_reports_everything():
    with pytest.raises(ProblemsError) as info:
        ff.load_graph(FIXTURES / "graph_v1_broken.yaml")
    problems = info.value.problems
    assert all(p.source == str(FIXTURES / "graph_v1_broken.yaml") for p in problems)
    assert "no id" in find(problems, "nodes[1]").message
    assert find(problems, "nodes[2]").line == 9
    assert "duplicate node id 'pixels'" in find(problems, "nodes[3].id").message
    for i in range(3):
        assert "from" in find(problems, f"links[{i}]").message
    assert len(problems) == 6


# --- kind detection --------------------------------------------------------------------------------

def test_detect_kind(tmp_path):
    png = tmp_path / "graph.yaml"             # the name says nothing; the content does
    png.write_bytes(ff.PNG_SIGNATURE + b"\0\0\0\rIHDR")
    assert ff.detect_kind(png) == "png"
    graph = tmp_path / "x.png"
    graph.write_text(ff.dumps_graph(demo_graph()), encoding="utf-8")
    assert ff.detect_kind(graph) == "graph"
    legacy = tmp_path / "config.yaml"
    legacy.write_text("resolution: 512\ntargets:\n  - features:\n      - text: cat\n", encoding="utf-8")
    assert ff.detect_kind(legacy) == "legacy"
    broken = tmp_path / "broken.graph.yaml"
    broken.write_text("format: clipig-nodes-graph\nversion: 2\nnodes: [\n", encoding="utf-8")
    assert ff.detect_kind(broken) == "graph"   # so the graph loader reports the YAML error
    binary = tmp_path / "blob"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert ff.detect_kind(binary) == "legacy"
    for bad in (tmp_path / "missing.yaml", tmp_path):
        with pytest.raises(ProblemsError) as info:
            ff.detect_kind(bad)
        assert info.value.problems[0].source == str(bad)


def test_is_graph_document():
    assert ff.is_graph_document({"format": ff.FORMAT})
    assert not ff.is_graph_document({"format": "x"})
    assert not ff.is_graph_document([ff.FORMAT])


# --- fuzzing ---------------------------------------------------------------------------------------

FUZZ = dict(deadline=None, suppress_health_check=list(HealthCheck), database=None)

yaml_bits = st.sampled_from([
    "format: clipig-nodes-graph\n", "version: 3\n", "version: 2\n", "version: 1\n", "nodes:\n",
    "links:\n", "inputs:\n", "prompt: a.text\n", "param: ", "description: ",
    "  a:\n", "  - ", "type: ", "pos: ", "params: ", "{", "}", "[", "]", ", ", ": ", "- ",
    "a.image -> b.image", "id: a", "from: a.x", "to: b.y", "&x ", "*x", "!!binary ", "!!set ",
    "2001-01-01", ".nan", "-.inf", "1e3", "~", "'q'", '"\\n"', "\n", "    ", "? ", "!!omap ",
    "!!timestamp 2001-99-99", "!!int x", "#c", "|\n  text\n",
])
yamlish_text = st.one_of(st.text(max_size=200), st.lists(yaml_bits, max_size=30).map("".join))


@settings(max_examples=1500, **FUZZ)
@given(yamlish_text)
def test_fuzz_text_gives_graph_or_problems(text):
    try:
        assert isinstance(ff.loads_graph(text), Graph)
    except ProblemsError as exc:
        assert exc.problems and all(isinstance(str(p), str) for p in exc.problems)


yaml_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=6), children, max_size=4)),
    max_leaves=8,
)
SPOTS = ["nodes", "links", "version", "format", "description", "node", "type", "params", "param",
         "pos", "link", "node_id"]


def valid_document() -> dict:
    return ff.graph_to_dict(demo_graph())


@settings(max_examples=800, **FUZZ)
@given(st.lists(st.tuples(st.sampled_from(SPOTS), yaml_data), min_size=1, max_size=3))
def test_fuzz_data_gives_graph_or_problems(changes):
    data = valid_document()
    for spot, value in changes:
        nodes = data.get("nodes") if isinstance(data.get("nodes"), dict) else {}
        node = nodes.get("train") if isinstance(nodes.get("train"), dict) else {}
        params = node.get("params") if isinstance(node.get("params"), dict) else {}
        if spot in ("nodes", "links", "version", "format", "description"):
            data[spot] = value
        elif spot == "link" and isinstance(data.get("links"), list):
            data["links"].append(value)
        elif spot == "node_id" and isinstance(value, str):
            nodes[value] = {"type": "blur"}
        elif spot == "node":
            nodes["train"] = value
        elif spot == "param":
            params["x"] = value
        elif spot in ("type", "params", "pos"):
            node[spot] = value
    try:
        graph = ff.graph_from_dict(data, "fuzz")
    except ProblemsError as exc:
        assert exc.problems and all(p.source == "fuzz" or p.source is None for p in exc.problems)
        return
    assert isinstance(graph, Graph)
    assert ff.graph_from_dict(ff.graph_to_dict(graph)) == graph or _has_nan(graph)


def _has_nan(graph) -> bool:
    def walk(v):
        if isinstance(v, float):
            return math.isnan(v)
        if isinstance(v, list):
            return any(walk(x) for x in v)
        if isinstance(v, dict):
            return any(walk(x) for x in v.values())
        return False
    return any(walk(n.params) for n in graph)


# U+0085 (NEL) is left out: yamlio.dump_yaml writes it unescaped in a single-quoted
# scalar, where YAML folds it into a space (a PyYAML emitter quirk, to fix in yamlio).
texts = st.text(st.characters(blacklist_characters="\x85", blacklist_categories=("Cs",)), max_size=20)
# built from alphabets rather than from_regex: the same strings, generated several times faster
node_ids = st.builds(str.__add__, st.sampled_from(string.ascii_letters + "_"),
                     st.text(string.ascii_letters + string.digits + "_-", max_size=12))
sockets = st.builds(str.__add__, st.sampled_from(string.ascii_lowercase),
                    st.text(string.ascii_lowercase + string.digits + "_", max_size=8))
plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=6,
)


@st.composite
def graphs(draw):
    g = Graph(draw(texts))
    for node_id in draw(st.lists(node_ids, unique=True, max_size=5)):
        pos = draw(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)) | st.just((0.0, 0.0)))
        params = draw(st.dictionaries(texts, plain, max_size=3))
        g.add_node(draw(texts.filter(str.strip)), node_id, params, pos)
    ids = list(g.nodes)
    if ids:
        for _ in range(draw(st.integers(0, 8))):
            link = Link(draw(st.sampled_from(ids)), draw(sockets), draw(st.sampled_from(ids)), draw(sockets))
            if link not in g.links:
                g.links.append(link)
    return g


@settings(max_examples=250, **FUZZ)
@given(graphs())
def test_fuzz_round_trip(graph):
    text = ff.dumps_graph(graph)
    loaded = ff.loads_graph(text)
    assert loaded == graph
    assert ff.dumps_graph(loaded) == text
