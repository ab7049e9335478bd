"""Fourier and pyramid pixel sources: the source contract on its own (init, render,
resample, write, lr_factors), checked on real tensors."""

import numpy as np
import pytest
import torch
from PIL import Image

from clipig_nodes.registry import IMAGE, SOURCE, default_registry

from .engine_helpers import stage_params

SOURCES = ("fourier_pixels", "pyramid_pixels")


def source(name):
    return default_registry()[name]


def make(name, params=None, seed=0, base_dir=None):
    node_type = source(name)
    p = stage_params(name, params)
    state = node_type.init(p, torch.Generator().manual_seed(seed), base_dir)
    return node_type, p, state


def smooth_image(w, h, seed=0):
    """A picture with structure at several scales, values inside (0, 1)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand((1, 3, 4, 4), generator=g)
    image = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bicubic",
                                            align_corners=False)
    image = image + 0.05 * torch.rand((1, 3, h, w), generator=g)
    return image.clamp(0.05, 0.95)


@pytest.mark.parametrize("name", SOURCES)
def test_declared_as_interchangeable_sources(name):
    node_type = source(name)
    assert node_type.category == SOURCE
    assert [(s.name, s.type) for s in node_type.outputs] == [("image", IMAGE)]
    for method in ("init", "render", "resample", "write", "lr_factors"):
        assert callable(getattr(node_type, method))


@pytest.mark.parametrize("name", SOURCES)
@pytest.mark.parametrize("size", [(32, 24), (33, 17)])     # odd widths and heights too
def test_render_shape_dtype_and_gradient(name, size):
    node_type, p, state = make(name, {"resolution": list(size)})
    for tensor in state.values():
        tensor.requires_grad_(True)
    image = node_type.render(state, p)
    assert image.shape == (1, 3, size[1], size[0])
    assert image.dtype == torch.float32
    image.mean().backward()
    trained = [k for k, v in state.items() if v.numel()]
    assert trained and all(state[k].grad is not None and state[k].grad.abs().sum() > 0
                           for k in trained)


@pytest.mark.parametrize("name", SOURCES)
def test_same_generator_seed_same_image_other_seed_other_image(name):
    a = make(name, seed=3)
    b = make(name, seed=3)
    c = make(name, seed=4)
    render = lambda made: made[0].render(made[2], made[1])   # noqa: E731
    assert torch.equal(render(a), render(b))
    assert not torch.equal(render(a), render(c))


def test_fourier_noise_init_is_gray_and_low_contrast():
    node_type, p, state = make("fourier_pixels", {"resolution": [64, 64]})
    image = node_type.render(state, p)
    assert abs(float(image.mean()) - 0.5) < 0.02
    assert 0 < float(image.std()) < 0.05


@pytest.mark.parametrize("params", [{}, {"decorrelate": False}, {"activation": "clamp"},
                                    {"decay": 1.5, "resolution": [31, 20]}])
def test_fourier_init_image_first_render_equals_it(tmp_path, params):
    w, h = params.get("resolution", [40, 30])
    picture = smooth_image(w, h)
    path = tmp_path / "init.png"
    Image.fromarray((picture[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    stored = torch.from_numpy(np.asarray(Image.open(path), dtype=np.float32) / 255).permute(2, 0, 1)
    node_type, p, state = make("fourier_pixels",
                               {"resolution": [w, h], "init_image": str(path), **params})
    image = node_type.render(state, p)
    assert (image[0] - stored).abs().max() < 1e-4


@pytest.mark.parametrize("name", SOURCES)
def test_write_makes_render_give_the_image(name):
    node_type, p, state = make(name, {"resolution": [36, 28]})
    target = smooth_image(36, 28, seed=5)
    node_type.write(state, target, p)
    assert (node_type.render(state, p) - target).abs().max() < 1e-4
    # the state tensors are changed in place (the optimizer keeps holding them)
    before = {k: v for k, v in state.items()}
    node_type.write(state, smooth_image(36, 28, seed=6), p)
    assert all(state[k] is before[k] for k in state)


def test_write_sigmoid_saturated_pixels_come_back_close():
    node_type, p, state = make("fourier_pixels", {"resolution": [16, 16]})
    target = torch.zeros(1, 3, 16, 16)
    target[..., 8:] = 1.0
    node_type.write(state, target, p)
    assert (node_type.render(state, p) - target).abs().max() < 2e-3


@pytest.mark.parametrize("name", SOURCES)
def test_resample_keeps_the_image(name):
    node_type, p, state = make(name, {"resolution": [32, 32]})
    node_type.write(state, smooth_image(32, 32, seed=2), p)
    before = node_type.render(state, p)
    bigger = node_type.resample(state, [64, 48], p)
    after = node_type.render(bigger, p)
    assert after.shape == (1, 3, 48, 64)
    back = torch.nn.functional.interpolate(after, size=(32, 32), mode="area")
    assert (back - before).abs().mean() < 0.02
    # and down again to an odd width
    smaller = node_type.resample(bigger, [21, 16], p)
    assert node_type.render(smaller, p).shape == (1, 3, 16, 21)


def test_pyramid_levels_and_learnrate_factors():
    node_type, p, state = make("pyramid_pixels", {"resolution": [64, 40], "levels": 3,
                                                  "level_learnrate": 2.0})
    assert {k: tuple(v.shape[-2:]) for k, v in state.items()} == {
        "level0": (40, 64), "level1": (20, 32), "level2": (10, 16)}
    assert node_type.lr_factors(p) == {"level0": 1.0, "level1": 2.0, "level2": 4.0}


def test_pyramid_coarse_level_moves_large_areas():
    node_type, p, state = make("pyramid_pixels", {"resolution": [32, 32], "levels": 3})
    before = node_type.render(state, p)
    with torch.no_grad():
        state["level2"][0, 0, 0, 0] += 1.0
    changed = (node_type.render(state, p) - before).abs() > 1e-3
    assert changed.sum() >= 16      # one coarse pixel covers at least 4x4 of the image


def test_fourier_learnrate_factors_name_the_state():
    node_type, p, state = make("fourier_pixels")
    assert set(node_type.lr_factors(p)) == set(state)


@pytest.mark.parametrize("name", SOURCES)
def test_missing_init_image_is_a_clear_error(name, tmp_path):
    from clipig_nodes.engine.errors import EngineError
    with pytest.raises(EngineError, match=r"init_image: file not found: .*nope\.png"):
        make(name, {"init_image": str(tmp_path / "nope.png")})


def high_frequency_share(image):
    """Share of the image's energy above half the Nyquist frequency."""
    power = torch.fft.rfft2(image - image.mean()).abs() ** 2
    h, w = image.shape[-2:]
    fy = torch.fft.fftfreq(h)[:, None].abs()
    fx = torch.fft.rfftfreq(w)[None, :]
    high = (torch.maximum(fx, fy) > 0.25).expand_as(power)
    return float(power[high].sum() / power.sum())


def test_fourier_damps_high_frequencies_of_a_gradient_step():
    """An Adam-like step (the sign of the gradient) on white-noise gradients puts far less
    energy above half Nyquist through the spectrum than on plain pixels: what keeps the
    Fourier source free of grid artifacts."""
    node_type, p, state = make("fourier_pixels", {"resolution": [64, 64]})
    spectrum = state["spectrum"].requires_grad_(True)
    noise = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    (node_type.render(state, p) * noise).sum().backward()
    with torch.no_grad():
        spectrum -= 0.1 * spectrum.grad.sign()
    fourier_share = high_frequency_share(node_type.render(state, p).detach())
    pixel_share = high_frequency_share(0.5 - 0.01 * noise.sign())
    assert pixel_share > 0.6
    assert fourier_share < pixel_share / 4


# --- through the engine ----------------------------------------------------------------------

def source_graph(name, clip_path, **params):
    from .graph_builders import minimal
    g = minimal("a red square")
    g.remove_node("pixels")
    g.add_node(name, "source", params=params)
    g.add_node("cutouts", params={"count": 4, "size": 32})
    g.connect("source", "image", "cutouts", "image")
    g.connect("cutouts", "image", "target", "image")
    g.add_node("blur", params={"kernel_size": [3, 3]})
    g.connect("source", "image", "blur", "image")
    g.connect("blur", "image", "train", "postproc")
    g.set_param("train", "epochs", 6)
    g.set_param("train", "model", clip_path)
    return g


@pytest.mark.parametrize("name", SOURCES)
def test_source_trains_in_a_graph_with_resolution_change_and_postproc(name, tiny_clip):
    from clipig_nodes.engine import Run, RunOptions
    from clipig_nodes.graph.validate import validate
    g = source_graph(name, tiny_clip, resolution=["40 if epoch < 3 else 56", 32])
    assert validate(g) == []
    run = Run(g, RunOptions(device="cpu", seed=2), save=False, image_every=1)
    images = [e.image for e in run.events() if e.image is not None]
    assert [tuple(i.shape[-2:]) for i in images[:3]] == [(32, 40)] * 3
    assert tuple(images[-1].shape[-2:]) == (32, 56)
    # the switch keeps the image: the first image at the new size looks like the last before
    before = torch.nn.functional.interpolate(images[2], size=(32, 56), mode="bilinear")
    assert (images[3] - before).abs().mean() < 0.05


def test_legacy_export_says_what_a_fourier_source_loses():
    from clipig_nodes.legacy.exporter import export_legacy
    from .graph_builders import minimal
    g = minimal()
    g.remove_node("pixels")
    g.add_node("fourier_pixels", "source", params={"resolution": [320, 240], "decay": 1.5})
    g.connect("source", "image", "target", "image")
    result = export_legacy(g)
    assert result.ok
    assert result.data["resolution"] == [320, 240]
    assert [(p.node, p.message) for p in result.problems] == [
        ("source", "CLIPig knows only plain pixels: the fourier_pixels source is written as "
                   "pixels with the params they share (decay not exported); the image will look "
                   "different")]
