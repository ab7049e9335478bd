"""The cutouts transform: N views per image, crop sizes within bounds and biased by
cut_pow, per-view flips, perspective, jitter and noise, all from the run's generator."""

import pytest
import torch

from clipig_nodes.graph.validate import validate
from clipig_nodes.registry import default_registry

from .engine_helpers import apply, make_context
from .graph_builders import minimal


def coordinate_image(w=64, h=48):
    """Channel 0 = x position, channel 1 = y position (both in (0, 1)), channel 2 = 0.5:
    a view's pixels say where in the image they were taken from."""
    xs = (torch.arange(w) + 0.5) / w
    ys = (torch.arange(h) + 0.5) / h
    image = torch.stack([xs[None, :].expand(h, w), ys[:, None].expand(h, w),
                         torch.full((h, w), 0.5)])
    return image[None]


def crop_extent(view):
    """Width of the region a view covers, as a fraction of the image width."""
    row = view[0, view.shape[1] // 2]
    return float(row.max() - row.min())


def test_shape_and_order_of_views():
    x = torch.rand(2, 3, 40, 60)
    out = apply("cutouts", x, {"count": 5, "size": 16})
    assert out.shape == (10, 3, 16, 16)
    # image-major: the first 5 views come from image 0 (a constant image shows it)
    x = torch.stack([torch.full((3, 40, 60), 0.2), torch.full((3, 40, 60), 0.8)])
    out = apply("cutouts", x, {"count": 5, "size": 16})
    assert torch.allclose(out[:5], torch.tensor(0.2), atol=1e-5)
    assert torch.allclose(out[5:], torch.tensor(0.8), atol=1e-5)


def test_crop_sizes_stay_within_min_and_max():
    image = coordinate_image(96, 64)     # shorter side 64 = 2/3 of the width
    out = apply("cutouts", image, {"count": 200, "size": 24, "min_size": 0.3, "max_size": 0.6,
                                   "flip": 0.0})
    extents = torch.tensor([crop_extent(v) for v in out]) / (64 / 96)
    assert extents.min() > 0.3 * 0.85 and extents.max() < 0.6 * 1.02
    assert extents.max() - extents.min() > 0.2      # sizes really vary


def test_cut_pow_biases_toward_small_crops():
    image = coordinate_image()
    def mean_extent(cut_pow):
        out = apply("cutouts", image, {"count": 300, "size": 16, "min_size": 0.2,
                                       "max_size": 1.0, "cut_pow": cut_pow, "flip": 0.0})
        return sum(crop_extent(v) for v in out) / len(out)
    assert mean_extent(3.0) < mean_extent(1.0) - 0.1


def test_crops_stay_inside_the_image_and_cover_it():
    image = coordinate_image()
    out = apply("cutouts", image, {"count": 400, "size": 8, "min_size": 0.2, "max_size": 0.3,
                                   "flip": 0.0})
    assert out[:, 0].min() >= 0 and out[:, 0].max() <= 1
    # the crop centres spread over the whole image
    centres = out[:, 0].mean(dim=(1, 2))
    assert centres.min() < 0.3 and centres.max() > 0.7


def test_flip_probability():
    image = coordinate_image()
    out = apply("cutouts", image, {"count": 400, "size": 8, "flip": 0.5, "min_size": 0.5})
    flipped = (out[:, 0, 4, 0] > out[:, 0, 4, 7]).float().mean()
    assert 0.4 < float(flipped) < 0.6
    none = apply("cutouts", image, {"count": 100, "size": 8, "flip": 0.0, "min_size": 0.5})
    assert bool((none[:, 0, 4, 0] < none[:, 0, 4, 7]).all())


def test_perspective_bends_straight_lines():
    image = coordinate_image()
    params = {"count": 50, "size": 16, "flip": 0.0, "min_size": 0.6, "max_size": 0.6}
    straight = apply("cutouts", image, params)
    bent = apply("cutouts", image, {**params, "perspective": 0.3})
    # without perspective the x coordinate does not change down a column; with it, it does
    assert float(straight[:, 0].std(dim=1).max()) < 1e-5
    assert float(bent[:, 0].std(dim=1).mean()) > 1e-3


def test_jitter_and_noise_change_views_per_view():
    x = torch.full((1, 3, 32, 32), 0.5)
    x[:, 0] = 0.7
    plain = apply("cutouts", x, {"count": 8, "size": 16})
    assert torch.allclose(plain, plain[:1].expand_as(plain), atol=1e-6)
    jittered = apply("cutouts", x, {"count": 8, "size": 16, "jitter": 0.4})
    means = jittered.mean(dim=(1, 2, 3))
    assert float(means.std()) > 0.01          # each view its own brightness/contrast
    noisy = apply("cutouts", x, {"count": 8, "size": 16, "noise": 0.1})
    assert 0.05 < float((noisy - plain).std()) < 0.15
    assert noisy.min() >= 0 and noisy.max() <= 1


def test_same_seed_same_views_and_gradient_reaches_every_pixel_used():
    x = torch.rand(1, 3, 48, 48, requires_grad=True)
    params = {"count": 12, "size": 16, "perspective": 0.1, "jitter": 0.2, "noise": 0.05}
    a = apply("cutouts", x, params, ctx=make_context(seed=7))
    b = apply("cutouts", x, params, ctx=make_context(seed=7))
    c = apply("cutouts", x, params, ctx=make_context(seed=8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    a.sum().backward()
    assert float((x.grad != 0).float().mean()) > 0.5


def test_large_crops_are_filtered_not_aliased():
    """A fine checkerboard shrunk 8x comes out near its mean gray (area filtering), where a
    plain bilinear sample of it would keep full-contrast aliasing."""
    board = ((torch.arange(256)[:, None] + torch.arange(256)[None, :]) % 2).float()
    image = board.expand(1, 3, 256, 256)
    out = apply("cutouts", image, {"count": 4, "size": 32, "min_size": 1.0, "max_size": 1.0,
                                   "flip": 0.0})
    assert float((out - 0.5).abs().max()) < 0.2


def test_declared_random_resolution_changing_and_listed():
    node_type = default_registry()["cutouts"]
    assert node_type.random and node_type.changes_resolution and not node_type.geometric
    assert node_type.legacy_name is None


def test_min_larger_than_max_is_a_validation_error():
    g = minimal()
    g.add_node("cutouts", params={"min_size": 0.8, "max_size": 0.5})
    g.disconnect(g.links_into("target", "image")[0])
    g.connect("pixels", "image", "cutouts", "image")
    g.connect("cutouts", "image", "target", "image")
    errors = [p for p in validate(g) if p.is_error]
    assert [(p.node, p.param) for p in errors] == [("cutouts", "min_size")]


@pytest.mark.parametrize("params", [{"count": 0}, {"min_size": 0.0}, {"cut_pow": 0}])
def test_out_of_range_params_refused(params):
    g = minimal()
    g.add_node("cutouts", params=params)
    g.connect("pixels", "image", "cutouts", "image")
    assert any(p.is_error and p.node == "cutouts" for p in validate(g))


def test_legacy_export_leaves_cutouts_out_and_says_so():
    from clipig_nodes.legacy.exporter import export_legacy
    g = minimal()
    g.add_node("cutouts")
    g.disconnect(g.links_into("target", "image")[0])
    g.connect("pixels", "image", "cutouts", "image")
    g.connect("cutouts", "image", "target", "image")
    result = export_legacy(g)
    assert result.ok and "transforms" not in result.data["targets"][0]
    assert [(p.node, p.message) for p in result.problems] == [
        ("cutouts", "CLIPig has no cutouts transform; left out (what CLIP sees will differ)")]
