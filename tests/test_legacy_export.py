"""Graph -> legacy CLIPig YAML (clipig_nodes.legacy.exporter), and round trips."""

import pytest
import yaml

from clipig_nodes.graph.model import Graph
from clipig_nodes.legacy import dumps_legacy, export_legacy, import_legacy_texts
from tests import graph_builders
from tests.legacy_examples import VALID

FEATURE = "  features: [{text: a cat}]\n"

# configs beyond the examples that import without errors (several with warnings)
EXTRA = {
    "shorthand": "targets:\n- transforms: [{blur: 3 .35}, {rotate: 45 0.3}, {pad: 4 0.5 edge}]\n"
                 + FEATURE,
    "times": "targets:\n- start: 1.0\n  end: 1\n" + FEATURE
             + "  constraints: [{blur: {start: 0, end: 1.0, loss: l1, sigma: 1 2}}]\n",
    "postproc": "postproc:\n- {noise: 0.1, contrast: 0.5, active: false, start: 3}\n"
                "- {saturation: 2, end: 1.0}\n- {random_shift: -1 1 -2 2}\ntargets:\n-" + FEATURE,
    "merge-like": "resolution: 300 200\ninterpolation: nearest\nepochs: 10\nstart_epoch: 2\n"
                  "learnrate_scale: 1 - t\nmodel: RN50\ndevice: cpu\nsnapshot_interval: 2.5\n"
                  "output: out/x.png\ninit: {resolution: 30 20, image: a.png, std: 0.2}\n"
                  "targets:\n- {name: One, weight: 2, select: mix, feature_scale: fair,"
                  " active: false, features: [{image: b.png, scale: 2, loss: mae}]}\n"
                  "- {name: One, features: [{text: x}]}\n",
    "negative": "targets:\n- end: -1\n" + FEATURE,
    "quoted": "targets:\n- active: 'false'\n" + FEATURE,
}


def imported(text, name="in.yaml"):
    result = import_legacy_texts([(name, text)])
    assert result.ok, [str(p) for p in result.problems]
    return result.graph


def warnings_of(problems, node=None):
    return [p.message for p in problems if not p.is_error and (node is None or p.node == node)]


@pytest.mark.parametrize("name", [*sorted(VALID), *EXTRA])
def test_round_trip(name):
    text = VALID.get(name) or EXTRA[name]
    g1 = imported(text)
    out, problems = dumps_legacy(g1)
    assert out is not None and not any(p.is_error for p in problems)
    g2 = imported(out, "out.yaml")
    assert list(g1.nodes) == list(g2.nodes)
    for node_id, node in g1.nodes.items():
        assert g2.nodes[node_id].params == node.params, node_id
        assert g2.nodes[node_id].pos == node.pos, node_id
    assert g1.links == g2.links
    assert g1 == g2
    # and once more: the export of the re-import is the same text
    assert dumps_legacy(g2)[0] == out


def test_exported_yaml_is_plain_clipig_yaml():
    g = imported(VALID["V7"])
    out, problems = dumps_legacy(g)
    assert problems == []
    data = yaml.safe_load(out)
    assert data["snapshot_interval"] == 10 and type(data["snapshot_interval"]) is int
    blur, mean, quantize = data["postproc"]
    assert blur == {"blur": {}, "start": 10, "end": 60}
    assert all(type(v) is int for v in (blur["start"], blur["end"]))
    assert mean == {"mean": [0.5, 0.5, 0.5], "end": 0.5}
    assert quantize == {"quantize": [0.03125] * 3, "start": 0.9}
    assert data["optimizer"] == "rmsprob"


def test_times_keep_int_and_float():
    out, _ = dumps_legacy(imported(EXTRA["times"]))
    assert "start: 1.0" in out and "end: 1\n" in out
    target = yaml.safe_load(out)["targets"][0]
    assert type(target["start"]) is float and type(target["end"]) is int
    assert yaml.safe_load(out)["targets"][0]["constraints"] == [
        {"blur": {"sigma": [1.0, 2.0], "loss": "l1", "start": 0}}]      # end 1.0 = default


def _no_nulls(data):
    if isinstance(data, dict):
        return all(v is not None and _no_nulls(v) for v in data.values())
    if isinstance(data, list):
        return all(v is not None and _no_nulls(v) for v in data)
    return True


@pytest.mark.parametrize("name", sorted(VALID))
def test_exports_are_lists_booleans_and_no_nulls(name):
    data = export_legacy(imported(VALID[name])).data
    assert _no_nulls(data)
    for target in data.get("targets", []):
        assert isinstance(target.get("features", []), list)
        for entry in target.get("transforms", []):
            assert len(entry) == 1
    assert isinstance(data.get("postproc", []), list)


def test_expressions_with_spaces_are_list_items():
    data = yaml.safe_load(dumps_legacy(imported(VALID["V4"]))[0])
    assert data["resolution"] == ["224 if t < 0.5 else 448"] * 2
    assert data["targets"][0]["transforms"][1] == {"random_scale": ["0.5 if t >= 0.5 else 1.0", 1.0]}


def test_hand_built_strawberries_exports():
    out, problems = dumps_legacy(graph_builders.strawberries())
    assert problems == []
    again = imported(out)
    assert imported(VALID["strawberries"]) == again


# --- what legacy YAML cannot express --------------------------------------------------------------

def test_schedules_and_inactive_nodes_in_target_chains():
    g = graph_builders.minimal()
    g.add_node("noise", params={"std": [0.1] * 3, "start": 5})
    g.add_node("blur", params={"active": False})
    g.links.remove(g.links_into("target", "image")[0])
    g.connect("pixels", "image", "noise", "image")
    g.connect("noise", "image", "blur", "image")
    g.connect("blur", "image", "target", "image")
    g.add_node("mean_constraint", params={"above": [0.5] * 3, "active": False})
    g.connect("mean_constraint", "constraint", "target", "constraints")
    g.add_node("text_feature", "off", params={"text": "x", "active": False})
    g.connect("off", "feature", "target", "features")
    g.set_param("train", "seed", 3)
    result = export_legacy(g)
    assert result.ok
    assert result.data["targets"][0] == {"features": [{"text": "a lighthouse in a storm"}],
                                         "transforms": [{"noise": [0.1, 0.1, 0.1]}]}
    assert "always on" in warnings_of(result.problems, "noise")[0]
    assert "left out" in warnings_of(result.problems, "blur")[0]
    assert "left out" in warnings_of(result.problems, "mean_constraint")[0]
    assert "left out" in warnings_of(result.problems, "off")[0]
    assert "seed" in warnings_of(result.problems, "train")[0]


def test_shared_nodes_and_previews():
    g = graph_builders.minimal()
    g.add_node("target", "second")
    g.connect("pixels", "image", "second", "image")
    g.connect("text_feature", "feature", "second", "features")
    g.connect("second", "target", "train", "targets")
    g.add_node("noise", params={"std": [0.1] * 3})
    g.links.remove(g.links_into("target", "image")[0])
    g.connect("pixels", "image", "noise", "image")
    g.connect("noise", "image", "target", "image")
    g.add_node("preview")
    g.connect("noise", "image", "preview", "image")
    g.add_node("blur")                                   # dangling
    result = export_legacy(g)
    assert result.ok
    assert [t["features"] for t in result.data["targets"]] == [[{"text": "a lighthouse in a "
                                                                 "storm"}]] * 2
    assert "shared by target, second" in warnings_of(result.problems, "text_feature")[0]
    assert "GUI only" in warnings_of(result.problems, "preview")[0]
    assert "`noise`" in warnings_of(result.problems, "preview")[0]
    assert "not exported" in warnings_of(result.problems, "blur")[0]


def test_postproc_export():
    g = graph_builders.minimal()
    g.add_node("noise", params={"std": [0.1] * 3, "active": False, "end": 0.5})
    g.add_node("saturation", params={"factor": 0.0})
    g.add_node("center_crop", params={"size": [10, 10]})
    g.connect("pixels", "image", "noise", "image")
    g.connect("noise", "image", "saturation", "image")
    g.connect("saturation", "image", "center_crop", "image")
    g.connect("center_crop", "image", "train", "postproc")
    result = export_legacy(g)
    assert result.data["postproc"] == [{"noise": [0.1] * 3, "active": False, "end": 0.5}]
    assert "runs the entry anyway" in warnings_of(result.problems, "noise")[0]
    assert "zero" in warnings_of(result.problems, "saturation")[0]
    assert "not allowed" in warnings_of(result.problems, "center_crop")[0]


def test_optimizer_rmsprop_is_written_as_rmsprob():
    g = graph_builders.minimal()
    g.set_param("train", "optimizer", "rmsprop")
    result = export_legacy(g)
    assert result.data["optimizer"] == "rmsprob"
    assert "rmsprob" in warnings_of(result.problems, "train")[0]


@pytest.mark.parametrize("change, words", [
    (lambda g: g.add_node("pixels", "pixels_2"), "exactly one `pixels`"),
    (lambda g: g.remove_node("train"), "exactly one `train`"),
    (lambda g: g.links.remove(g.links_into("target", "image")[0]), "no image chain"),
])
def test_graphs_legacy_cannot_represent(change, words):
    g = graph_builders.minimal()
    change(g)
    result = export_legacy(g)
    assert result.data is None and not result.ok
    assert any(words in p.message and p.is_error for p in result.problems)
    assert dumps_legacy(g)[0] is None


def test_empty_graph_is_an_error_not_a_crash():
    result = export_legacy(Graph())
    assert result.data is None and len([p for p in result.problems if p.is_error]) == 2


# --- layout of arbitrary graphs -------------------------------------------------------------------

def _boxes(graph):
    from clipig_nodes.graph.layout import node_size
    from clipig_nodes.registry import default_registry
    out = {}
    for node in graph:
        w, h = node_size(graph, default_registry(), node.id)
        out[node.id] = (node.pos[0], node.pos[1], node.pos[0] + w, node.pos[1] + h)
    return out


def test_auto_layout_of_a_graph_with_previews_and_loose_nodes():
    from clipig_nodes.graph.layout import auto_layout
    g = graph_builders.strawberries()
    g.add_node("preview")
    g.connect("random_rotate", "image", "preview", "image")
    g.add_node("blur")                                       # dangling
    g.add_node("text_feature", "unused", params={"text": "x"})
    g.add_node("noise", params={"std": [0.1] * 3})           # postproc
    g.connect("pixels", "image", "noise", "image")
    g.connect("noise", "image", "train", "postproc")
    auto_layout(g)
    boxes = _boxes(g)
    ids = list(boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            p, q = boxes[a], boxes[b]
            assert p[2] <= q[0] or q[2] <= p[0] or p[3] <= q[1] or q[3] <= p[1], (a, b)
    pos = {n.id: n.pos for n in g}
    assert pos["pixels"][0] < pos["random_shift"][0] < pos["random_rotate"][0] \
        < pos["random_scale"][0] < pos["center_crop"][0] < pos["text_feature"][0] \
        < pos["random_sampler"][0] < pos["train"][0]
    assert pos["text_feature"][0] == pos["blur_constraint"][0]        # one column
    assert pos["noise"][1] > pos["random_shift"][1]                   # its own band
    again = g.copy()
    auto_layout(again)
    assert [n.pos for n in again] == [n.pos for n in g]
