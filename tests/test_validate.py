from clipig_nodes.graph.validate import validate

from .graph_builders import chain, minimal, strawberries


def messages(problems, errors_only=True):
    return sorted(((p.node, p.param, p.message) for p in problems if p.is_error or not errors_only),
                  key=lambda m: tuple(x or "" for x in m))


def test_templates_built_by_hand_are_clean(registry):
    assert validate(strawberries(), registry) == []
    assert validate(minimal(), registry) == []


def test_every_problem_in_one_pass(registry):
    g = strawberries()
    g.add_node("blurr", "x")
    g.set_param("random_sampler", "batch_size", -1)
    g.set_param("random_sampler", "colour", 3)
    g.set_param("train", "learnrate", "0.01 * sim")
    g.set_param("pixels", "resolution", "224 * 2")
    g.set_param("random_shift", "range", None)
    g.add_node("mean_constraint")
    g.connect("mean_constraint", "constraint", "random_sampler", "constraints")
    problems = validate(g, registry)
    found = {(p.node, p.param) for p in problems if p.is_error}
    assert found == {("x", None), ("random_sampler", "batch_size"), ("random_sampler", "colour"),
                     ("train", "learnrate"), ("pixels", "resolution"), ("random_shift", "range"),
                     ("mean_constraint", None)}
    text = {(p.node, p.param): p.message for p in problems}
    assert "did you mean 'blur'" in text[("x", None)]
    assert "unknown param 'colour'" in text[("random_sampler", "colour")]
    assert text[("mean_constraint", None)] == "'mean' needs 'above' and/or 'below'"
    assert text[("random_shift", "range")].startswith("required")


def test_unknown_type_does_not_blame_its_neighbours(registry):
    g = minimal()
    g.add_node("blurr", "x")
    g.disconnect(g.links[0])
    g.connect("pixels", "image", "x", "image")
    g.connect("x", "image", "target", "image")
    assert messages(validate(g, registry)) == [("x", None, "unknown node type 'blurr' (did you mean 'blur'?)")]


def test_socket_errors(registry):
    g = minimal()
    g.add_node("text_feature", "t2", params={"text": "x"})
    g.connect("t2", "feature", "target", "image")
    g.add_node("target", "lonely")
    g.connect("lonely", "target", "train", "targets")
    problems = messages(validate(g, registry))
    assert ("target", "image", "FEATURE cannot feed IMAGE (t2.feature -> target.image)") in problems
    assert ("target", "image", "input 'image' takes one link, has 2: pixels, t2") in problems
    assert ("lonely", "image", "input 'image' (IMAGE) is not connected") in problems


def test_cycles_are_named(registry):
    g = minimal()
    g.add_node("blur")
    g.add_node("noise", params={"std": 0.1})
    chain(g, "blur", "noise", "blur")
    problems = messages(validate(g, registry))
    assert ("blur", None, "cycle: blur -> noise -> blur") in problems


def test_exactly_one_source_and_train(registry):
    g = minimal()
    g.add_node("pixels", "p2")
    g.remove_node("train")
    problems = messages(validate(g, registry))
    assert ("p2", None, "a graph needs exactly one pixel source ('pixels'), found pixels, p2") in problems
    assert (None, None, "a graph needs exactly one train node ('train'), found none") in problems


def test_resizing_transform_in_postproc(registry):
    g = minimal()
    g.add_node("center_crop", params={"size": 200})
    g.add_node("blur")
    chain(g, "pixels", "blur", "center_crop")
    g.connect("center_crop", "image", "train", "postproc")
    problems = messages(validate(g, registry))
    assert len(problems) == 1
    node, _, message = problems[0]
    assert node == "center_crop" and message.startswith(
        "'center_crop' changes the resolution and is not allowed in the post-processing chain. "
        "Allowed: add, blur, border,")


def test_warnings(registry):
    g = minimal()
    g.set_param("target", "batch_size", 4)
    g.set_param("text_feature", "end", 10.0)
    g.set_param("target", "start", 50)
    g.set_param("target", "end", 20)
    g.add_node("blur")                       # goes nowhere
    problems = [p for p in validate(g, registry) if not p.is_error]
    text = {(p.node, p.param): p.message for p in problems}
    assert "no random transform" in text[("target", "batch_size")]
    assert "ratio of the run" in text[("text_feature", "end")]
    assert "never active" in text[("target", "start")]
    assert "no effect" in text[("blur", None)]
    assert "not connected" in text[("blur", "image")]   # a side branch: only a warning
    assert all(not p.is_error for p in validate(g, registry))


def test_missing_files_when_asked(registry, tmp_path):
    g = minimal()
    g.set_param("pixels", "init_image", "start.png")
    assert validate(g, registry) == []
    problems = validate(g, registry, check_files=True, base_dir=tmp_path)
    assert [(p.node, p.param) for p in problems] == [("pixels", "init_image")]
    assert str(tmp_path / "start.png") in problems[0].message
    (tmp_path / "start.png").write_bytes(b"x")
    assert validate(g, registry, check_files=True, base_dir=tmp_path) == []
    # a web address would pass validation and then fail the run: say so before
    g.set_param("pixels", "init_image", "https://example.com/a.png")
    (problem,) = validate(g, registry, check_files=True, base_dir=tmp_path)
    assert problem.param == "init_image" and "web address: download the file" in problem.message
