import pytest

from clipig_nodes.expressions import Expression
from clipig_nodes.graph.compile import compile_graph
from clipig_nodes.problems import ProblemsError

from .graph_builders import chain, minimal, strawberries


def test_strawberries_plan(registry):
    program = compile_graph(strawberries(), registry)
    assert program.source.id == "pixels"
    assert program.source.params["resolution"] == [512, 512]
    (target,) = program.targets
    assert target.id == "random_sampler" and target.random
    assert [s.id for s in target.chain] == ["random_shift", "random_rotate", "random_scale",
                                            "center_crop"]
    assert [s.type for s in target.features] == ["text_feature"]
    assert [s.type for s in target.constraints] == ["blur_constraint"]
    assert target.stage.params["batch_size"] == 5
    assert isinstance(program.train.params["learnrate_scale"], Expression)
    assert program.train.params["epochs"] == 250
    assert program.postproc == () and program.previews == ()
    assert program.order.index("pixels") < program.order.index("random_shift") < \
        program.order.index("random_sampler") < program.order.index("train")


def test_compile_is_deterministic(registry):
    a, b = compile_graph(strawberries(), registry), compile_graph(strawberries(), registry)
    assert a.order == b.order
    assert [t.id for t in a.targets] == [t.id for t in b.targets]
    assert repr(a.targets) == repr(b.targets)


def test_targets_and_features_keep_link_order_and_drop_inactive(registry):
    g = minimal()
    for name in ("b_second", "a_third"):
        g.add_node("text_feature", name, params={"text": name})
        g.connect(name, "feature", "target", "features")
    g.add_node("target", "other", params={"active": False})
    g.connect("pixels", "image", "other", "image")
    g.connect("text_feature", "feature", "other", "features")
    g.connect("other", "target", "train", "targets")
    g.add_node("noise", params={"std": 0.1, "active": False})
    g.add_node("blur")
    g.disconnect(g.links[0])
    chain(g, "pixels", "noise", "blur", "target")
    program = compile_graph(g, registry)
    assert [t.id for t in program.targets] == ["target"]
    assert [s.id for s in program.targets[0].features] == ["text_feature", "b_second", "a_third"]
    assert [s.id for s in program.targets[0].chain] == ["blur"]


def test_postproc_and_previews(registry):
    g = minimal()
    g.add_node("blur", params={"start": 10, "end": 60})
    g.add_node("quantize", params={"step": "1/32"})
    chain(g, "pixels", "blur", "quantize")
    g.connect("quantize", "image", "train", "postproc")
    g.add_node("preview")
    g.connect("blur", "image", "preview", "image")
    program = compile_graph(g, registry)
    assert [op.stage.id for op in program.postproc] == ["blur", "quantize"]
    assert program.postproc[0].stage.start == 10 and program.postproc[0].stage.end == 60
    assert program.postproc[1].stage.params["step"] == [0.03125] * 3
    assert [s.id for op in program.previews[0].ops for s in op.stages] == ["blur"]


def test_invalid_graph_raises_with_every_error(registry):
    g = minimal()
    g.set_param("target", "batch_size", 0)
    g.set_param("train", "epochs", -1)
    with pytest.raises(ProblemsError) as info:
        compile_graph(g, registry)
    assert {(p.node, p.param) for p in info.value.problems} == {("target", "batch_size"),
                                                                ("train", "epochs")}
