import pytest

from clipig_nodes.graph.model import Graph, GraphError, Link, slug


def test_ids_are_readable_and_unique():
    g = Graph()
    assert g.add_node("blur").id == "blur"
    assert g.add_node("blur").id == "blur_2"
    assert g.add_node("blur").id == "blur_3"
    assert g.add_node("target", "Random Sampler".lower().replace(" ", "_")).id == "random_sampler"
    with pytest.raises(GraphError, match="already exists"):
        g.add_node("blur", "blur")
    with pytest.raises(GraphError, match="not a valid node id"):
        g.add_node("blur", "has space")
    assert slug("Random Sampler #2") == "random_sampler_2"
    assert slug("2nd") == "node_2nd" and slug("!!!") == "node"


def test_connect_disconnect_keep_order():
    g = Graph()
    for name in ("a", "b", "c"):
        g.add_node("text_feature", name)
    g.add_node("target", "t")
    l1 = g.connect("a", "feature", "t", "features")
    l2 = g.connect("b", "feature", "t", "features")
    g.connect("c", "feature", "t", "features", index=0)
    assert [l.src for l in g.links_into("t", "features")] == ["c", "a", "b"]
    assert g.disconnect(l1) == 1
    assert [l.src for l in g.links_into("t")] == ["c", "b"]
    with pytest.raises(GraphError, match="no link"):
        g.disconnect(l1)
    with pytest.raises(GraphError, match="already exists"):
        g.connect("b", "feature", "t", "features")
    with pytest.raises(GraphError, match="no node 'zzz'"):
        g.connect("zzz", "feature", "t", "features")
    assert l2 in g.links


def test_remove_node_returns_what_undo_needs():
    g = Graph()
    g.add_node("pixels")
    g.add_node("blur")
    g.add_node("target")
    g.connect("pixels", "image", "blur", "image")
    g.connect("blur", "image", "target", "image")
    node, links = g.remove_node("blur")
    assert node.type == "blur" and len(links) == 2
    assert g.links == [] and "blur" not in g


def test_rename_updates_links_and_keeps_order():
    g = Graph()
    g.add_node("pixels")
    g.add_node("blur")
    g.add_node("target")
    g.connect("pixels", "image", "blur", "image")
    g.connect("blur", "image", "target", "image")
    g.rename("blur", "soften")
    assert list(g.nodes) == ["pixels", "soften", "target"]
    assert g.nodes["soften"].id == "soften"
    assert [str(l) for l in g.links] == ["pixels.image -> soften.image",
                                         "soften.image -> target.image"]
    with pytest.raises(GraphError):
        g.rename("soften", "pixels")


def test_params_and_equality():
    g = Graph()
    g.add_node("noise", params={"std": 0.1})
    g2 = g.copy()
    assert g2 == g
    g2.set_param("noise", "std", 0.2)
    assert g2 != g and g.nodes["noise"].params["std"] == 0.1
    g2.reset_param("noise", "std")
    assert g2.nodes["noise"].params == {}


def test_link_parse():
    assert Link.parse("a.image -> b.features") == Link("a", "image", "b", "features")
    for bad in ("a.image b.image", "a -> b.image", "a.image -> -> b", 5, ".x -> b.y"):
        with pytest.raises(GraphError):
            Link.parse(bad)
