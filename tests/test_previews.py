"""Previews of any image in the graph: in run events, off the training step."""

import pytest
import torch

from clipig_nodes.engine import Run, RunOptions

from .graph_builders import chain, minimal


def graph_with_preview(every=2):
    g = minimal()
    g.set_param("pixels", "resolution", [40, 32])
    g.set_param("train", "epochs", 6)
    g.add_node("random_shift", params={"range": [-1, 1]})
    g.add_node("center_crop", params={"size": [16, 16]})
    g.add_node("preview", params={"every": every})
    g.disconnect(next(l for l in g.links if l.dst == "target" and l.dst_socket == "image"))
    chain(g, "pixels", "random_shift", "center_crop", "target")
    g.connect("center_crop", "image", "preview", "image")
    return g


def events(graph, tiny_clip, **kw):
    run = Run(graph, RunOptions(model=tiny_clip, device="cpu", seed=0), save=False, **kw)
    return run, run.events()


def test_preview_nodes_show_their_image_every_n_epochs(tiny_clip):
    run, stream = events(graph_with_preview(every=2), tiny_clip, previews=True)
    seen = [e for e in stream if e.previews]
    assert [(e.kind, e.epoch) for e in seen] == [("epoch", 2), ("epoch", 4), ("epoch", 6),
                                                 ("done", 6)]     # and the final image
    image = seen[0].previews["preview.image"]
    assert image.shape == (1, 3, 16, 16) and 0 <= image.min() and image.max() <= 1


def test_any_image_output_can_be_previewed_while_running(tiny_clip):
    run, stream = events(graph_with_preview(), tiny_clip)
    first = next(stream)
    assert first.previews is None                      # nothing asked for: nothing computed
    run.request_preview("random_shift", "image")
    later = next(stream)
    shifted = later.previews["random_shift.image"]
    assert shifted.shape == (1, 3, 32, 40)             # the shift keeps the size
    run.cancel_preview("random_shift", "image")
    assert next(stream).previews is None
    with pytest.raises(KeyError, match="no IMAGE output"):
        run.request_preview("text_feature", "feature")


def test_showing_previews_does_not_change_the_training(tiny_clip):
    quiet, stream = events(graph_with_preview(every=1), tiny_clip)
    for _ in stream:
        pass
    watched, stream = events(graph_with_preview(every=1), tiny_clip, previews=True)
    watched.request_preview("pixels", "image")
    assert all(e.previews for e in stream)
    assert torch.equal(quiet.result.pixels, watched.result.pixels)


def test_a_node_added_by_a_live_update_can_be_previewed(tiny_clip):
    """Previews follow the program being trained, not the one the run started with."""
    run, stream = events(graph_with_preview(), tiny_clip)
    next(stream)
    edited = graph_with_preview()
    edited.add_node("random_rotate", "rotate", params={"degree": [-5, 5]})
    edited.connect("pixels", "image", "rotate", "image")
    run.update(edited)
    next(stream)                                       # the update is taken before this epoch
    run.request_preview("rotate", "image")
    assert next(stream).previews["rotate.image"].shape == (1, 3, 32, 40)
    run.request_preview("random_shift", "image")       # a plan made for the edited program
    run.update(graph_with_preview())                   # the rotation is gone again
    later = next(stream)
    assert list(later.previews) == ["random_shift.image"]
    with pytest.raises(KeyError):
        run.request_preview("rotate", "image")
