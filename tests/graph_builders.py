"""Small graphs built with the model API, shared by tests."""

from clipig_nodes.graph.model import Graph


def chain(graph: Graph, *ids: str) -> None:
    """Link id1.image -> id2.image -> ... (IMAGE chain)."""
    for a, b in zip(ids, ids[1:]):
        graph.connect(a, "image", b, "image")


def strawberries() -> Graph:
    """CLIPig's strawberries example, built by hand."""
    g = Graph("strawberries")
    g.add_node("pixels", params={"resolution": [512, 512], "init_mean": [.4, .4, .4],
                                 "init_std": [.05, .05, .05]})
    g.add_node("random_shift", params={"range": [-1, 1]})
    g.add_node("random_rotate", params={"degree": [-10, 10], "center": [0, 1]})
    g.add_node("random_scale", params={"range": [0.5, 1.0]})
    g.add_node("center_crop", params={"size": [224, 224]})
    g.add_node("blur_constraint", params={"kernel_size": [5, 5]})
    g.add_node("text_feature", params={"text": "strawberries lying on the grass"})
    g.add_node("target", "random_sampler", params={"name": "random sampler", "batch_size": 5})
    g.add_node("train", params={"epochs": 250, "learnrate": 2.0,
                                "learnrate_scale": "1. - .95 * t5"})
    chain(g, "pixels", "random_shift", "random_rotate", "random_scale", "center_crop",
          "random_sampler")
    g.connect("blur_constraint", "constraint", "random_sampler", "constraints")
    g.connect("text_feature", "feature", "random_sampler", "features")
    g.connect("random_sampler", "target", "train", "targets")
    return g


def minimal(text: str = "a lighthouse in a storm") -> Graph:
    g = Graph()
    g.add_node("pixels")
    g.add_node("text_feature", params={"text": text})
    g.add_node("target")
    g.add_node("train")
    g.connect("pixels", "image", "target", "image")
    g.connect("text_feature", "feature", "target", "features")
    g.connect("target", "target", "train", "targets")
    return g
