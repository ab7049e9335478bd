from clipig_nodes.graph.connect import link_problem, replaced_links
from clipig_nodes.graph.model import Link

from .graph_builders import minimal, strawberries


def test_link_reasons(registry):
    g = strawberries()
    assert link_problem(g, registry, Link("text_feature", "feature", "random_sampler", "image")) \
        == "FEATURE cannot feed IMAGE (text_feature.feature -> random_sampler.image)"
    assert "cannot feed itself" in link_problem(g, registry, Link("blur_constraint", "constraint",
                                                                  "blur_constraint", "x"))
    cycle = link_problem(g, registry, Link("center_crop", "image", "random_shift", "image"))
    assert cycle == ("would create a cycle: random_shift -> random_rotate -> random_scale -> "
                     "center_crop -> random_shift")
    assert "has no output 'img'" in link_problem(g, registry, Link("pixels", "img", "blur_constraint", "x"))
    assert "has no input 'foo'" in link_problem(g, registry, Link("pixels", "image", "random_sampler", "foo"))
    assert "already exists" in link_problem(g, registry, g.links[0])
    g.add_node("preview")
    assert link_problem(g, registry, Link("center_crop", "image", "preview", "image")) is None


def test_single_input_replacement(registry):
    g = minimal()
    g.add_node("blur")
    g.connect("pixels", "image", "blur", "image")
    new = Link("blur", "image", "target", "image")
    assert replaced_links(g, registry, new) == [Link("pixels", "image", "target", "image")]
    g.add_node("text_feature", "second", params={"text": "x"})
    assert replaced_links(g, registry, Link("second", "feature", "target", "features")) == []
