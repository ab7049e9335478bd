"""Legacy CLIPig YAML -> graph (clipig_nodes.legacy), checked against LEGACY_FORMAT.md."""

import pytest

from clipig_nodes.legacy import import_legacy, import_legacy_files, import_legacy_texts
from clipig_nodes.legacy.schema import POSTPROC_ORDER
from tests import graph_builders
from tests.legacy_examples import INVALID, VALID

FEATURE = "  features: [{text: a cat}]\n"


def load(text, name="test.yaml"):
    return import_legacy_texts([(name, text)])


def errors(result):
    return [p for p in result.problems if p.is_error]


def warnings(result):
    return [p for p in result.problems if not p.is_error]


def ok(text):
    result = load(text)
    assert result.ok, [str(p) for p in result.problems]
    return result.graph


def links(graph):
    return {str(link) for link in graph.links}


def image_chain(graph, node_id, socket="image"):
    """Node ids from the pixels to node_id.socket."""
    out = []
    while True:
        feeding = graph.links_into(node_id, socket)
        if not feeding:
            return out[::-1]
        node_id, socket = feeding[0].src, "image"
        out.append(node_id)


def inputs(graph, node_id, socket):
    return [l.src for l in graph.links_into(node_id, socket)]


def types(graph, ids):
    return [graph.nodes[i].type for i in ids]


def single_warning(text, path):
    result = load(text)
    assert result.ok, [str(p) for p in result.problems]
    found = [p for p in warnings(result) if p.path == path]
    assert len(found) == 1, [str(p) for p in result.problems]
    return found[0].message


# --- the valid examples ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_examples_import_cleanly(name):
    result = load(VALID[name], f"{name}.yaml")
    assert result.ok and result.graph is not None
    assert result.problems == []        # none of the listed warnings fires on a plain example
    kinds = [n.type for n in result.graph]
    assert kinds.count("pixels") == 1 and kinds.count("train") == 1


def test_v1_minimal():
    g = ok(VALID["V1"])
    assert [(n.id, n.type) for n in g] == [("pixels", "pixels"), ("train", "train"),
                                          ("target", "target"), ("text_feature", "text_feature")]
    assert links(g) == {"pixels.image -> target.image", "text_feature.feature -> target.features",
                        "target.target -> train.targets"}
    assert g.nodes["text_feature"].params == {"text": "a lighthouse in a storm"}
    assert g.nodes["pixels"].params == {} and g.nodes["train"].params == {}


def test_v2_schedules_noise_postproc():
    g = ok(VALID["V2"])
    assert g.nodes["pixels"].params == {"resolution": [320, 240], "init_mean": [0.45, 0.4, 0.35],
                                        "init_std": [0.08, 0.08, 0.08]}
    assert g.nodes["train"].params == {"epochs": 400, "learnrate": 1.5,
                                       "learnrate_scale": "1 - 0.9 * t3"}
    assert g.nodes["main"].params == {"name": "main", "batch_size": 6}
    assert image_chain(g, "main") == ["pixels", "noise", "random_rotate", "random_crop"]
    assert g.nodes["noise"].params == {"std": ["0.05*ti", "0.05*ti", "0.05*ti"]}
    assert g.nodes["random_rotate"].params == {"degree": [-15.0, 15.0], "center": [0.35, 0.65]}
    assert g.nodes["random_crop"].params == {"size": [224, 224]}
    assert types(g, inputs(g, "main", "constraints")) == ["blur_constraint",
                                                          "saturation_constraint"]
    assert g.nodes["blur_constraint"].params == {"kernel_size": [9, 9], "end": 0.8}
    assert g.nodes["saturation_constraint"].params == {"below": [0.1, 0.1, 0.1], "weight": 5.0}
    assert image_chain(g, "train", "postproc") == ["pixels", "border"]
    border = g.nodes["border"].params
    assert border == {"size": [2, 2], "color": [0.1, 0.1, 0.1], "end": 0.5}
    assert isinstance(border["end"], float)


def test_v3_late_feature_and_percent():
    g = ok(VALID["V3"])
    target = g.nodes["target"]
    assert target.params == {"select": "best", "batch_size": 4}
    features = inputs(g, "target", "features")
    assert [g.nodes[f].params["text"] for f in features] == [
        "a forest of glass trees", "a frozen waterfall", "text, letters, watermark"]
    assert g.nodes[features[1]].params == {"text": "a frozen waterfall", "weight": 0.7,
                                           "start": 0.25}
    assert g.nodes[features[2]].params["weight"] == -0.3
    assert types(g, image_chain(g, "target")[1:]) == ["random_shift", "noise"]
    assert g.nodes["random_shift"].params == {"range": [0.0, 1.0]}


def test_v4_resolution_expressions():
    g = ok(VALID["V4"])
    assert g.nodes["pixels"].params == {
        "resolution": ["224 if t < 0.5 else 448", "224 if t < 0.5 else 448"],
        "interpolation": "linear"}
    assert g.nodes["train"].params == {"learnrate": "0.5 + 0.5 * ts(0.5, 0.6)"}
    chain = image_chain(g, "target")[1:]
    assert types(g, chain) == ["random_shift", "random_scale", "center_crop", "noise"]
    assert g.nodes["random_scale"].params == {"range": ["0.5 if t >= 0.5 else 1.0", 1.0]}
    assert g.nodes["center_crop"].params == {"size": [224, 224]}


def test_v5_init_image_and_image_feature():
    g = ok(VALID["V5"])
    assert g.nodes["pixels"].params == {"resolution": [256, 256], "init_image": "photos/start.jpg",
                                        "init_mean": [0.0, 0.0, 0.0], "init_std": [1.0, 1.0, 1.0]}
    features = inputs(g, "target", "features")
    assert types(g, features) == ["image_feature", "text_feature"]
    assert g.nodes[features[0]].params == {"image": "photos/style.png", "loss": "l2"}
    assert g.nodes[features[1]].params == {"text": "watercolor painting", "weight": 0.5}
    assert g.nodes["target"].params == {"select": "mix"}


def test_v6_two_targets_in_order():
    g = ok(VALID["V6"])
    assert inputs(g, "train", "targets") == ["left_half", "right_half"]
    assert g.nodes["pixels"].params == {"resolution": [448, 224]}
    right = g.nodes["right_half"].params
    assert right == {"name": "right half", "start": 0.2, "weight": "1.5 - sim / 100"}
    crops = [image_chain(g, t)[1:] for t in ("left_half", "right_half")]
    assert [g.nodes[c[0]].params["rect"] for c in crops] == [[0.0, 0.0, 224.0, 224.0],
                                                            [224.0, 0.0, 224.0, 224.0]]
    feature = inputs(g, "right_half", "features")[0]
    assert g.nodes[feature].params["weight"] == "1 if sim < 30 else 0.5"
    constraint = inputs(g, "right_half", "constraints")[0]
    assert g.nodes[constraint].params == {"above": [0.3, 0.3, 0.3], "weight": 0.5}


def test_v7_postproc_times_and_folding():
    g = ok(VALID["V7"])
    train = g.nodes["train"].params
    assert train == {"epochs": 120, "snapshot_interval": 10, "optimizer": "rmsprob"}
    assert isinstance(train["snapshot_interval"], int)      # int = every 10 epochs
    chain = image_chain(g, "train", "postproc")[1:]
    assert types(g, chain) == ["blur", "mean", "quantize"]
    blur, mean, quantize = (g.nodes[i].params for i in chain)
    assert blur == {"start": 10, "end": 60} and all(type(v) is int for v in blur.values())
    assert mean == {"mean": [0.5, 0.5, 0.5], "end": 0.5}
    assert quantize == {"step": [0.03125, 0.03125, 0.03125], "start": 0.9}
    constraints = inputs(g, "target", "constraints")
    assert types(g, constraints) == ["normalize_constraint", "edge_mean_constraint"]
    assert g.nodes[constraints[1]].params == {"below": [0.05, 0.05, 0.05], "kernel_size": [5, 5]}


def test_postproc_runs_in_clipig_registry_order_within_an_entry():
    text = "postproc:\n  - contrast: 0.5\n    noise: 0.1\n    blur: {}\n    add: 0.1\n    end: 30\n" \
           "  - mul: 2\n" + "targets:\n-" + FEATURE
    g = ok(text)
    chain = image_chain(g, "train", "postproc")[1:]
    assert types(g, chain) == ["blur", "noise", "add", "contrast", "mul"]
    assert [g.nodes[i].params.get("end") for i in chain] == [30, 30, 30, 30, None]
    assert POSTPROC_ORDER.index("blur") < POSTPROC_ORDER.index("contrast")


def test_v8_pad_and_fair_scaling():
    g = ok(VALID["V8"])
    assert g.nodes["target"].params == {"feature_scale": "fair", "select": "worst", "batch_size": 3}
    chain = image_chain(g, "target")[1:]
    assert types(g, chain) == ["pad", "random_crop", "bwnoise"]
    assert g.nodes["pad"].params == {"size": [16, 16], "mode": "wrap"}
    assert g.nodes["bwnoise"].params == {"std": 0.05}
    assert len(inputs(g, "target", "features")) == 3


def test_strawberries_matches_the_hand_built_graph():
    g = ok(VALID["strawberries"])
    expected = graph_builders.strawberries()
    assert {(n.id, n.type) for n in g} == {(n.id, n.type) for n in expected}
    assert links(g) == links(expected)
    assert image_chain(g, "random_sampler") == image_chain(expected, "random_sampler")
    assert g.nodes["train"].params == {"epochs": 250, "learnrate": 2.0,
                                       "learnrate_scale": "1. - .95 * t5"}


def test_positions_are_set_and_do_not_overlap():
    for text in VALID.values():
        g = ok(text)
        from clipig_nodes.graph.layout import node_size
        from clipig_nodes.registry import default_registry
        boxes = []
        for node in g:
            w, h = node_size(g, default_registry(), node.id)
            boxes.append((node.pos[0], node.pos[1], node.pos[0] + w, node.pos[1] + h))
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        pixels, train = g.nodes["pixels"].pos[0], g.nodes["train"].pos[0]
        assert all(pixels <= n.pos[0] <= train for n in g)


# --- the invalid examples -------------------------------------------------------------------------

def test_i1_expression_split_on_whitespace():
    result = load(INVALID["I1"])
    assert result.graph is None
    [problem] = result.problems
    assert problem.path == "resolution" and problem.line == 1 and problem.source == "test.yaml"
    assert "split on whitespace" in problem.message and "224*2" in problem.message


def test_i2_noise_takes_its_value_directly_and_blur_shorthand_is_fine():
    result = load(INVALID["I2"])
    [problem] = result.problems
    assert problem.is_error and problem.path == "targets[0].transforms[0].noise"
    assert problem.message == "`noise` takes its value directly (`noise: 0.1`)"
    assert problem.line == 4
    g = ok(INVALID["I2"].replace("      - noise: {std: 0.1}\n", ""))
    assert g.nodes["blur"].params == {"kernel_size": [5, 5]}


def test_i3_variable_outside_its_groups():
    [problem] = load(INVALID["I3"]).problems
    assert problem.is_error and problem.path == "learnrate"
    assert "`sim` is not available" in problem.message and "t" in problem.message


def test_i4_resizing_transform_in_postproc():
    [problem] = load(INVALID["I4"]).problems
    assert problem.path == "postproc[0].center_crop"
    assert problem.message.startswith("`center_crop` changes the resolution and is not allowed "
                                      "in `postproc`. Allowed: add, blur, border,")


def test_i5_all_runtime_errors_in_one_pass():
    result = load(INVALID["I5"])
    assert result.graph is None
    assert [(p.path, p.line, p.message) for p in result.problems] == [
        ("optimizer", 1, "unknown optimizer `rmsprop` (CLIPig spells centered RMSprop `rmsprob`)"),
        ("targets[0].select", 3, "`select` must be all/best/worst/mix, got `first`"),
        ("targets[0].constraints[0].mean", 6, "`mean` needs `above` and/or `below`"),
    ]


@pytest.mark.parametrize("key", ["targets", "postproc"])
def test_list_sections_written_as_mappings(key):
    result = load(f"{key}:\n  a: {{}}\n")
    [problem] = errors(result)
    assert problem.path == key and "must be a list" in problem.message and result.graph is None


@pytest.mark.parametrize("text, path, suggestion", [
    ("resolutoin: 5\n", "resolutoin", "resolution"),
    ("init: {meen: 1}\n", "init.meen", "mean"),
    ("targets:\n- feature: []\n", "targets[0].feature", "features"),
    ("targets:\n- transforms: [{nosie: 0.1}]\n" + FEATURE, "targets[0].transforms[0].nosie", "noise"),
    ("targets:\n- transforms: [{blur: {kernel: 3}}]\n" + FEATURE,
     "targets[0].transforms[0].blur.kernel", "kernel_size"),
    ("targets:\n- constraints: [{blurr: {}}]\n" + FEATURE, "targets[0].constraints[0].blurr", "blur"),
    ("targets:\n- constraints: [{mean: {abve: 1}}]\n" + FEATURE,
     "targets[0].constraints[0].mean.abve", "above"),
    ("targets:\n- features: [{txt: a}]\n", "targets[0].features[0].txt", "text"),
    ("postproc: [{bluur: {}}]\n", "postproc[0].bluur", "blur"),
])
def test_unknown_keys_with_suggestions(text, path, suggestion):
    result = load(text)
    found = [p for p in errors(result) if p.path == path]
    assert len(found) == 1 and f"did you mean `{suggestion}`?" in found[0].message


def test_constraint_values_must_be_mappings():
    result = load("targets:\n- constraints: [{blur: 5}, {blur: }, {blur: {}}]\n" + FEATURE)
    assert [(p.path, p.message) for p in result.problems] == [
        ("targets[0].constraints[0].blur", "`blur` needs a mapping (`blur: {kernel_size: 5}`)"),
        ("targets[0].constraints[1].blur", "`blur` needs a mapping (`blur: {}`)"),
    ]


def test_every_problem_at_once_with_file_and_line():
    text = ("epochs: lots\nresolution: 224 * 2\ntargets:\n- select: first\n"
            "  transforms: [{noise: {std: 1}}, {rotate: {}}]\n"
            "  features: [{}]\npostproc: [{resize: 5}]\n")
    result = load(text, "many.yaml")
    assert [(p.path, p.line) for p in errors(result)] == [
        ("epochs", 1), ("resolution", 2), ("targets[0].select", 4),
        ("targets[0].transforms[0].noise", 5), ("targets[0].transforms[1].rotate", 5),
        ("targets[0].features[0]", 6), ("postproc[0].resize", 7)]
    assert all(p.source == "many.yaml" for p in result.problems)
    assert "`rotate` needs `degree`" in errors(result)[4].message


@pytest.mark.parametrize("text", ["- 1\n- 2\n", "5\n", "targets: [5, null, [1]]\n",
                                  "targets:\n- features: [3, null]\n  transforms: [null, [1]]\n"
                                  "  constraints: [null, {5: 3}, []]\n",
                                  "init: 3\n", "{1: 2, null: 3, true: 4}\n", "a: [\n"])
def test_malformed_structures_are_problems(text):
    result = load(text)
    assert result.graph is None and errors(result)
    assert all(p.path or p.line or p.source for p in result.problems)


def test_empty_document_is_the_defaults():
    result = load("")
    assert result.ok and result.graph is not None
    assert [n.type for n in result.graph] == ["pixels", "train"]


def test_import_legacy_takes_parsed_data():
    import yaml
    result = import_legacy(yaml.safe_load(VALID["V2"]), source="v2.yaml")
    assert result.ok and result.graph == load(VALID["V2"]).graph
    bad = import_legacy({"targets": {"a": 1}}, source="x.yaml")
    assert not bad.ok and bad.problems[0].source == "x.yaml" and bad.problems[0].line is None


# --- values ---------------------------------------------------------------------------------------

def test_positional_shorthand_for_multi_param_transforms():
    g = ok("targets:\n- transforms: [{blur: 3 .35}, {rotate: 45}, {blur: 5}, {border: 2 0.1}]\n"
           + FEATURE)
    blur, rotate, blur5, border = image_chain(g, "target")[1:]
    assert g.nodes[blur].params == {"sigma": [0.35, 0.35]}          # kernel_size 3 = default
    assert g.nodes[rotate].params == {"degree": 45.0}
    assert g.nodes[blur5].params == {"kernel_size": [5, 5]}
    assert g.nodes[border].params == {"size": [2, 2], "color": [0.1, 0.1, 0.1]}
    result = load("targets:\n- transforms: [{blur: 1 2 3}]\n" + FEATURE)
    assert "at most 2 values" in errors(result)[0].message


def test_times_follow_clipig():
    g = ok("targets:\n- start: '10'\n  end: 25%\n" + FEATURE
           + "  constraints: [{blur: {start: 5, end: 0.5}}]\n")
    assert g.nodes["target"].params == {"start": 10, "end": 0.25}
    assert type(g.nodes["target"].params["start"]) is int
    assert g.nodes["blur_constraint"].params == {"start": 5, "end": 0.5}


def test_constant_expression_time_becomes_a_float_ratio():
    message = single_warning("targets:\n- start: 300//2\n" + FEATURE, "targets[0].start")
    assert "ratio 150.0" in message
    assert load("targets:\n- start: 300//2\n" + FEATURE).graph.nodes["target"].params == {
        "start": 150.0}
    g = ok("targets:\n- start: 1/4\n" + FEATURE)      # a ratio <= 1: no warning
    assert g.nodes["target"].params == {"start": 0.25}
    assert load("targets:\n- start: 1/4\n" + FEATURE).problems == []


def test_true_as_a_time_is_epoch_one():
    message = single_warning("targets:\n- end: true\n" + FEATURE, "targets[0].end")
    assert "epoch 1" in message
    assert load("targets:\n- end: true\n" + FEATURE).graph.nodes["target"].params == {"end": 1}


def test_numbers_follow_clipig_type_constructors():
    g = ok("epochs: 100.7\nstart_epoch: ' 10'\nsnapshot_interval: 5*2\nlearnrate: 1e3\n"
           "targets:\n- batch_size: '2.9'\n  transforms: [{noise: 0.1}]\n" + FEATURE)
    train = g.nodes["train"].params
    assert train == {"epochs": 100, "start_epoch": 10, "snapshot_interval": 10.0,
                     "learnrate": 1000.0}
    assert type(train["snapshot_interval"]) is float            # a folded expression = seconds
    assert g.nodes["target"].params == {"batch_size": 2}
    assert ok("snapshot_interval: 10\n").nodes["train"].params == {"snapshot_interval": 10}
    assert ok("snapshot_interval: 20\n").nodes["train"].params == {"snapshot_interval": 20}
    assert ok("snapshot_interval: 20.0\n").nodes["train"].params == {}


def test_yaml_11_booleans():
    g = ok("targets:\n- active: no\n" + FEATURE)
    assert g.nodes["target"].params == {"active": False}


def test_quoted_booleans_are_true_with_a_warning():
    message = single_warning("targets:\n- active: 'false'\n" + FEATURE, "targets[0].active")
    assert "quoted boolean" in message and "imported as true" in message
    assert ok("targets:\n- active: 'false'\n" + FEATURE).nodes["target"].params == {}


def test_feature_scale_any_other_string_is_fair():
    message = single_warning("targets:\n- feature_scale: Fair\n" + FEATURE,
                             "targets[0].feature_scale")
    assert "imported as fair" in message
    assert ok("targets:\n- feature_scale: equal\n" + FEATURE).nodes["target"].params == {}


def test_constraint_loss_is_case_sensitive_in_clipig():
    text = "targets:\n- constraints: [{blur: {loss: L1}}]\n" + FEATURE
    assert "case-sensitive" in single_warning(text, "targets[0].constraints[0].blur.loss")
    assert ok(text).nodes["blur_constraint"].params == {"loss": "l1"}
    assert ok("targets:\n- features: [{text: a, loss: L1}]\n").nodes[
        "text_feature"].params == {"text": "a", "loss": "l1"}   # features: case-insensitive


def test_constraint_variable_start_end_are_always_active():
    text = "targets:\n- constraints: [{blur: {start: t * 2, end: '0.5 + sim'}}]\n" + FEATURE
    result = load(text)
    assert result.ok and result.graph.nodes["blur_constraint"].params == {}
    assert {p.path for p in warnings(result)} == {"targets[0].constraints[0].blur.start",
                                                  "targets[0].constraints[0].blur.end"}
    assert "never evaluates" in warnings(result)[0].message


def test_features_text_wins_over_image():
    text = "targets:\n- features: [{text: a, image: b.png}]\n"
    assert "uses the text" in single_warning(text, "targets[0].features[0].image")
    g = ok(text)
    assert [n.type for n in g][-1] == "text_feature"
    g = ok("targets:\n- features: [{text: '', image: b.png}]\n")
    assert g.nodes["image_feature"].params == {"image": "b.png"}
    result = load("targets:\n- features: [{weight: 2}]\n")
    assert [p.message for p in errors(result)] == ["a feature needs `text` or `image`"]


def test_hidden_contrast_saturation_are_stripped():
    text = ("targets:\n- transforms:\n  - noise: 0.1\n    contrast: 1.0\n    saturation: 1.0\n"
            "  - saturation: 0.5\n" + FEATURE + "postproc:\n- blur: {}\n  contrast: 1.0\n"
            "  saturation: 1.0\n")
    g = ok(text)
    assert types(g, image_chain(g, "target")[1:]) == ["noise", "saturation"]
    assert types(g, image_chain(g, "train", "postproc")[1:]) == ["blur"]


def test_falsy_postproc_values_are_skipped_but_not_in_targets():
    text = "postproc:\n- saturation: 0\n  noise: 0.1\n" + "targets:\n- transforms: [{saturation: 0}]\n" \
        + FEATURE
    result = load(text)
    assert [p.path for p in result.problems] == ["postproc[0].saturation"]
    g = result.graph
    assert types(g, image_chain(g, "train", "postproc")[1:]) == ["noise"]
    assert g.nodes[image_chain(g, "target")[1]].params == {"factor": 0.0}


def test_unknown_pad_mode_leaves_the_pad_out():
    text = "targets:\n- transforms: [{pad: {size: 3, mode: mirror}}, {noise: 0.1}]\n" + FEATURE
    assert "does nothing" in single_warning(text, "targets[0].transforms[0].pad.mode")
    g = ok(text)
    assert types(g, image_chain(g, "target")[1:]) == ["noise"]


def test_interpolation_is_only_an_error_when_the_resolution_changes():
    assert "never uses it" in single_warning("interpolation: bogus\n", "interpolation")
    result = load("interpolation: bogus\nresolution: ['224 + 224*t']\n")
    assert [p.path for p in errors(result)] == ["interpolation"]


def test_negative_times():
    result = load("targets:\n- start: -5\n  end: -1\n" + FEATURE
                  + "  constraints: [{blur: {end: -0.5}}]\n")
    assert result.ok
    g = result.graph
    assert g.nodes["target"].params == {"active": False}
    assert "blur_constraint" not in g.nodes        # never active: left out


def test_transforms_have_no_schedule_in_clipig():
    result = load("targets:\n- transforms: [{blur: {start: 5}}]\n" + FEATURE)
    [problem] = errors(result)
    assert "have no start/end" in problem.message


def test_required_params_are_reported():
    result = load("targets:\n- transforms: [{rnoise: {std: 0.1}}, {noise: }]\n" + FEATURE
                  + "  constraints: [{noise: {}}]\n")
    assert [(p.path, p.message) for p in errors(result)] == [
        ("targets[0].transforms[0].rnoise", "`rnoise` needs `resolution`"),
        ("targets[0].transforms[1].noise", "needs a value"),
        ("targets[0].constraints[0].noise", "`noise` needs `std`")]


def test_duplicate_keys_warn():
    result = load("epochs: 5\nepochs: 10\ntargets:\n-" + FEATURE)
    assert result.ok and result.graph.nodes["train"].params == {"epochs": 10}
    assert [p.line for p in warnings(result)] == [2]


# --- warnings of LEGACY_FORMAT section 7 ----------------------------------------------------------

@pytest.mark.parametrize("text, path, words", [
    ("targets:\n- end: 10.0\n" + FEATURE, "targets[0].end", "ratio of the run"),
    ("postproc:\n- blur: {}\n  start: 2.5\n", "postproc[0].start", "ratio of the run"),
    ("targets:\n- batch_size: 4\n  transforms: [{random_shift: 0 1}]\n" + FEATURE,
     "targets[0].batch_size", "CLIPig produces one sample here"),
    ("targets:\n- batch_size: 4\n" + FEATURE, "targets[0].batch_size", "no transform"),
    ("targets:\n- transforms: [{edge: {}}]\n" + FEATURE, "targets[0].transforms[0].edge", "crashes"),
    ("postproc: [{edge: {}}]\ntargets:\n-" + FEATURE, "postproc[0].edge", "crashes"),
    ("resolution: 225\ntargets:\n- transforms: [{fnoise: 0.1}]\n" + FEATURE,
     "targets[0].transforms[0].fnoise", "odd pixel count"),
    ("resolution: 225\ntargets:\n- transforms: [{center_crop: 101}, {fnoise: 0.1}]\n" + FEATURE,
     "targets[0].transforms[1].fnoise", "odd pixel count"),
    ("targets:\n- transforms: [{border: {size: 0}}]\n" + FEATURE,
     "targets[0].transforms[0].border.size", "size of 0"),
    ("targets:\n- constraints: [{border: {size: 0 2}}]\n" + FEATURE,
     "targets[0].constraints[0].border.size", "size of 0"),
    ("resolution: 300 200\ninit: {image: a.png}\n", "init.image", "non-square"),
    ("targets:\n- features: [{text: a, scale: 1-t}]\n", "targets[0].features[0].scale",
     "expression"),
    ("targets:\n- end: 0.5\n" + FEATURE + "  constraints: [{blur: {weight: 1-t}}]\n",
     "targets[0].constraints[0].blur", "ends before the last epoch"),
    ("epochs: 100\ntargets:\n- end: 50\n" + FEATURE + "  constraints: [{mean: {above: 0.1*t}}]\n",
     "targets[0].constraints[0].mean", "ends before the last epoch"),
    ("postproc: [{blur: {}, active: false}]\n", "postproc[0].active", "runs the entry anyway"),
    ("targets:\n- active: 'no'\n" + FEATURE, "targets[0].active", "quoted boolean"),
    ("targets:\n- transforms: [{center_crop: 200 100}]\n" + FEATURE,
     "targets[0].transforms[0].center_crop", "[height, width]"),
    ("targets:\n- transforms: [{random_crop: [200, 100]}]\n" + FEATURE,
     "targets[0].transforms[0].random_crop", "[height, width]"),
    ("verbose: 0\n", "verbose", "command-line option (-v)"),
    ("init: {image_tensor: [[[0]]]}\n", "init.image_tensor", "not imported"),
])
def test_each_warning_triggers(text, path, words):
    assert words in single_warning(text, path)


def test_warnings_stay_quiet_when_they_do_not_apply():
    quiet = ["targets:\n- end: 1.0\n" + FEATURE,
             "targets:\n- batch_size: 4\n  transforms: [{random_rotate: {degree: 5}}]\n" + FEATURE,
             "resolution: 224\ntargets:\n- transforms: [{fnoise: 0.1}]\n" + FEATURE,
             "resolution: ['224+t']\ntargets:\n- transforms: [{fnoise: 0.1}]\n" + FEATURE,
             "resolution: 300 200\ninit: {image: a.png}\nresolution: 300\ntargets:\n-" + FEATURE,
             "targets:\n- transforms: [{center_crop: 200}]\n" + FEATURE,
             "targets:\n- " + FEATURE.strip() + "\n  constraints: [{blur: {weight: 1-t}}]\n",
             "targets:\n- end: 0.5\n" + FEATURE + "  constraints: [{blur: {weight: 2}}]\n",
             "postproc: [{blur: {}, active: true}]\ntargets:\n-" + FEATURE]
    for text in quiet:
        result = load(text)
        assert result.ok and not [p for p in warnings(result) if "duplicate" not in p.message
                                  and "twice" not in p.message], \
            (text, [str(p) for p in result.problems])


# --- merging --------------------------------------------------------------------------------------

BASE = """\
resolution: 512
epochs: 100
output: base_out/
init:
  mean: 0.3
targets:
  - name: a
    features: [{text: a}]
"""
SCENE = """\
resolution: 256
init:
  std: 0.2
targets:
  - name: b
    features: [{text: b}]
postproc:
  - blur: {}
"""


def test_merging_concatenates_targets_and_later_values_win():
    result = import_legacy_texts([("base.yaml", BASE), ("scene.yaml", SCENE + "output: out/\n"
                                                        "epochs: 50\n")])
    assert result.ok
    g = result.graph
    assert inputs(g, "train", "targets") == ["a", "b"]
    assert g.nodes["pixels"].params == {"resolution": [256, 256], "init_mean": [0.3] * 3,
                                        "init_std": [0.2] * 3}
    assert g.nodes["train"].params == {"epochs": 50, "output": "out/"}
    messages = {p.path: p for p in warnings(result)}
    assert set(messages) == {"resolution", "output", "epochs"}
    assert messages["resolution"].message == ("`resolution` is set in base.yaml and scene.yaml; "
                                              "the later value is used (CLIPig would fail: it "
                                              "concatenates the two lists)")
    assert messages["resolution"].source == "scene.yaml" and messages["resolution"].line == 1
    assert "later value is used" in messages["epochs"].message


def test_merging_takes_output_from_the_last_file_that_sets_it():
    result = import_legacy_texts([("base.yaml", BASE), ("scene.yaml", SCENE)])
    assert result.graph.nodes["train"].params["output"] == "base_out/"
    [note] = [p for p in warnings(result) if p.path == "output"]
    assert note.source == "base.yaml" and "last file (scene.yaml)" in note.message


def test_merged_problems_name_their_file():
    scene = SCENE.replace("    features: [{text: b}]\n", "    features: [{text: b}]\n"
                                                               "    select: first\n")
    result = import_legacy_texts([("base.yaml", BASE), ("scene.yaml", scene)])
    [problem] = errors(result)
    assert (problem.path, problem.source, problem.line) == ("targets[1].select", "scene.yaml", 7)


def test_import_files(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "scene.yaml").write_text(SCENE)
    result = import_legacy_files([tmp_path / "base.yaml", tmp_path / "scene.yaml"])
    assert result.graph is not None and inputs(result.graph, "train", "targets") == ["a", "b"]
    missing = import_legacy_files([tmp_path / "base.yaml", tmp_path / "nope.yaml"])
    assert missing.graph is None
    [problem] = errors(missing)
    assert problem.source == str(tmp_path / "nope.yaml") and problem.message == "no such file"


def test_select_is_only_checked_for_targets_with_features():
    text = "targets:\n- select: first\n  constraints: [{blur: {}}]\n"
    assert "no features" in single_warning(text, "targets[0].select")
