"""Tests for the torch code of the constraint nodes (nodes/constraints.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from clipig_nodes.registry import default_registry
from clipig_nodes.nodebase import Constraint

loss_function = Constraint.loss_function
from tests.engine_helpers import stage_params

CONSTRAINTS = ["mean_constraint", "std_constraint", "saturation_constraint",
               "contrast_constraint", "edge_mean_constraint", "blur_constraint",
               "border_constraint", "normalize_constraint", "noise_constraint"]


def constraint_loss(type_name, x, params=None, sim=None, seed=0, **ctx):
    """Per-sample loss [B] of a constraint node, before its weight (as the engine calls it)."""
    p = stage_params(type_name, params, batch=x.shape[0], sim=sim, seed=seed, **ctx)
    return default_registry()[type_name].loss(x, p, loss_function(p.value("loss")))


def flat(value, size=8, batch=1):
    return torch.full((batch, 3, size, size), float(value))


def two_level(low, high, size=8):
    """Left half `low`, right half `high`, in every channel."""
    x = torch.full((1, 3, size, size), float(low))
    x[..., size // 2:] = high
    return x


def noisy(seed=0, size=16, low=0.0, high=1.0, batch=1):
    g = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(batch, 3, size, size, generator=g)


def descend(type_name, x0, params=None, steps=30, lr=1.0, **kw):
    """A few SGD steps on the constraint's loss; returns the image and the first gradient."""
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.SGD([x], lr=lr)
    first_grad = None
    for _ in range(steps):
        opt.zero_grad()
        constraint_loss(type_name, x, params, **kw).sum().backward()
        if first_grad is None:
            first_grad = x.grad.clone()
        opt.step()
    return x.detach(), first_grad


def channel_std(x):
    return x.flatten(2).std(dim=2)


def saturation(x):
    return (x - x.mean(dim=1, keepdim=True)).abs().mean(dim=(2, 3))


def contrast(x):
    m = x.mean(dim=(2, 3), keepdim=True)
    hi = torch.where(x > m, x, 0).sum((2, 3)) / (x > m).sum((2, 3))
    lo = torch.where(x < m, x, 0).sum((2, 3)) / (x < m).sum((2, 3))
    return hi - lo


def edges(x):
    from clipig_nodes.engine import imaging
    return (imaging.gaussian_blur(x, (3, 3), None) - x).abs().mean()


def total_variation(x):
    return ((x[..., 1:, :] - x[..., :-1, :]).abs().mean()
            + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


# ------------------------------------------------------------------------- API

def test_loss_function():
    a = torch.tensor([[1.0, -3.0], [0.5, 0.5]])
    b = torch.zeros(2, 2)
    assert loss_function("l1")(a, b).tolist() == [2.0, 0.5]
    assert loss_function("l2")(a, b).tolist() == [5.0, 0.25]
    assert loss_function("mae")(a, b).tolist() == [2.0, 0.5]
    assert loss_function("mse")(a, b).tolist() == [5.0, 0.25]
    with pytest.raises(ValueError):
        loss_function("L2")


def test_every_constraint_has_torch_code():
    registry = default_registry()
    for name in CONSTRAINTS:
        assert callable(registry[name].loss), name


def test_module_imports_without_torch():
    code = ("import sys, nodes.constraints; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(
        __import__("pathlib").Path(__file__).resolve().parents[1]))


# ------------------------------------------------------------------------- values

def test_mean_values():
    dark = flat(0.3)
    assert constraint_loss("mean_constraint", dark, {"above": 0.5}).item() == \
        pytest.approx(100 * 0.2 ** 2)
    assert constraint_loss("mean_constraint", dark, {"above": 0.5, "loss": "l1"}).item() == \
        pytest.approx(100 * 0.2)
    assert constraint_loss("mean_constraint", dark, {"above": 0.5, "loss": "mae"}).item() == \
        pytest.approx(100 * 0.2)
    # one-sided: a value on the right side of its bound costs nothing
    assert constraint_loss("mean_constraint", dark, {"below": 0.5}).item() == 0.0
    assert constraint_loss("mean_constraint", flat(0.7), {"above": 0.5}).item() == 0.0
    assert constraint_loss("mean_constraint", flat(0.7), {"below": 0.5}).item() == \
        pytest.approx(100 * 0.2 ** 2)
    # both bounds: inside costs nothing, outside costs the distance to the violated bound
    assert constraint_loss("mean_constraint", flat(0.3), {"above": 0.2, "below": 0.5}).item() == 0.0
    assert constraint_loss("mean_constraint", flat(0.1), {"above": 0.2, "below": 0.5}).item() == \
        pytest.approx(100 * 0.1 ** 2)
    assert constraint_loss("mean_constraint", flat(0.3), {"above": 0.5, "below": 0.2}).item() == \
        pytest.approx(100 * (0.2 ** 2 + 0.1 ** 2))
    # per channel: only red is too dark; the mean is over the three channels
    assert constraint_loss("mean_constraint", dark, {"above": [0.5, 0.3, 0.1]}).item() == \
        pytest.approx(100 * 0.2 ** 2 / 3)


def test_std_is_unbiased():
    x = torch.tensor([0.0, 0.0, 1.0, 1.0]).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    std = (1.0 / 3.0) ** 0.5             # N - 1 = 3
    assert constraint_loss("std_constraint", x, {"above": 1.0}).item() == \
        pytest.approx(100 * (1 - std) ** 2)
    assert constraint_loss("std_constraint", x, {"below": 0.5}).item() == \
        pytest.approx(100 * (std - 0.5) ** 2)
    assert constraint_loss("std_constraint", flat(0.4), {"above": 0.1}).item() == \
        pytest.approx(100 * 0.1 ** 2)


def test_saturation_values():
    gray = noisy()[:, :1].expand(1, 3, 16, 16)
    assert constraint_loss("saturation_constraint", gray, {"below": 0.0}).item() == \
        pytest.approx(0.0, abs=1e-12)
    assert constraint_loss("saturation_constraint", gray, {"above": 0.1}).item() == \
        pytest.approx(100 * 0.1 ** 2)
    red = torch.zeros(1, 3, 4, 4)
    red[:, 0] = 1.0
    v = torch.tensor([2 / 3, 1 / 3, 1 / 3])
    expected = 100 * ((v - 0.1) ** 2).mean().item()
    assert constraint_loss("saturation_constraint", red, {"below": 0.1}).item() == \
        pytest.approx(expected)


def test_contrast_values():
    x = two_level(0.2, 0.8)
    # contrast 0.6 per channel; factor 1
    assert constraint_loss("contrast_constraint", x, {"above": 1.0}).item() == \
        pytest.approx(0.4 ** 2)
    assert constraint_loss("contrast_constraint", x, {"below": 0.5}).item() == \
        pytest.approx(0.1 ** 2)
    assert constraint_loss("contrast_constraint", x, {"above": 0.5}).item() == 0.0
    # a flat channel has no pixel above or below its mean: contrast 0
    flat_green = x.clone()
    flat_green[:, 1] = 0.5
    assert constraint_loss("contrast_constraint", flat_green, {"above": 0.6}).item() == \
        pytest.approx(0.6 ** 2 / 3, rel=1e-4)
    assert constraint_loss("contrast_constraint", flat(0.3), {"above": 0.1}).item() == \
        pytest.approx(0.1 ** 2, rel=1e-4)


def test_edge_mean_values():
    assert constraint_loss("edge_mean_constraint", flat(0.6), {"below": 0.0}).item() == \
        pytest.approx(0.0, abs=1e-10)
    assert constraint_loss("edge_mean_constraint", flat(0.6), {"above": 0.1}).item() == \
        pytest.approx(100 * 0.1 ** 2, rel=1e-5)
    x = noisy()
    sharp = constraint_loss("edge_mean_constraint", x, {"above": 1.0})
    assert sharp.item() == pytest.approx(100 * (1 - edges(x).item()) ** 2, rel=1e-3)
    # a larger kernel/sigma finds more edges
    wide = constraint_loss("edge_mean_constraint", x, {"above": 1.0, "kernel_size": 7,
                                                       "sigma": 3})
    assert wide.item() < sharp.item()


def test_blur_border_normalize_noise_values():
    assert constraint_loss("blur_constraint", flat(0.5)).item() == pytest.approx(0.0, abs=1e-8)
    assert constraint_loss("blur_constraint", noisy()).item() > 1.0
    # border: 8x8 with a 1-pixel frame of 28 pixels per channel
    value = constraint_loss("border_constraint", flat(0.3), {"color": [1, 0, 0]}).item()
    assert value == pytest.approx(100 * 28 * (0.7 ** 2 + 2 * 0.3 ** 2) / (3 * 64))
    # a size of 0 paints nothing (CLIPig crashed)
    assert constraint_loss("border_constraint", flat(0.3), {"size": 0}).item() == 0.0
    # size larger than the image: every pixel is border
    assert constraint_loss("border_constraint", flat(0.3), {"size": 100}).item() == \
        pytest.approx(100 * 0.3 ** 2)
    # normalize: a flat image (range 0 -> 1) maps to min; a full-range image costs nothing
    assert constraint_loss("normalize_constraint", flat(0.3)).item() == pytest.approx(10 * 0.09)
    full = two_level(0.0, 1.0)
    assert constraint_loss("normalize_constraint", full).item() == pytest.approx(0.0, abs=1e-10)
    assert constraint_loss("normalize_constraint", full, {"min": 0.25, "max": 0.75}).item() == \
        pytest.approx(10 * 0.25 ** 2)
    # noise: 100 * mean((std * N(0,1))^2) ~ 100 * std^2
    n = constraint_loss("noise_constraint", flat(0.5, size=64), {"std": 0.1})
    assert n.item() == pytest.approx(1.0, rel=0.05)
    n1 = constraint_loss("noise_constraint", flat(0.5, size=64), {"std": 0.1, "loss": "l1"})
    assert n1.item() == pytest.approx(100 * 0.1 * (2 / torch.pi) ** 0.5, rel=0.05)


# ------------------------------------------------------------------------- gradients

def test_mean_gradients():
    dark = noisy(high=0.4)
    up, _ = descend("mean_constraint", dark, {"above": 0.5})
    assert (up.mean(dim=(2, 3)) > dark.mean(dim=(2, 3)) + 0.05).all()
    bright = noisy(low=0.6)
    down, _ = descend("mean_constraint", bright, {"below": 0.5})
    assert (down.mean(dim=(2, 3)) < bright.mean(dim=(2, 3)) - 0.05).all()
    # one-sided: already above the bound, nothing moves
    _, grad = descend("mean_constraint", bright, {"above": 0.5}, steps=1)
    assert torch.count_nonzero(grad) == 0


def test_std_gradient():
    x = noisy(low=0.4, high=0.6)
    y, _ = descend("std_constraint", x, {"above": 0.3}, lr=5.0)
    assert (channel_std(y) > channel_std(x) + 0.02).all()
    z, _ = descend("std_constraint", noisy(), {"below": 0.1}, lr=5.0)
    assert (channel_std(z) < channel_std(noisy()) - 0.05).all()


def test_saturation_gradient():
    x = noisy()
    y, _ = descend("saturation_constraint", x, {"below": 0.05}, lr=5.0)
    assert (saturation(y) < saturation(x) - 0.05).all()


def test_contrast_gradient():
    x = noisy(low=0.4, high=0.6)
    y, _ = descend("contrast_constraint", x, {"above": 0.8}, lr=100.0)
    assert (contrast(y) > contrast(x) + 0.05).all()


def test_edge_mean_gradient():
    x = noisy()
    y, _ = descend("edge_mean_constraint", x, {"below": 0.0}, lr=3.0, steps=10)
    assert edges(y) < 0.7 * edges(x)


def test_blur_gradient_smooths():
    x = noisy()
    y, _ = descend("blur_constraint", x, lr=2.0, steps=10)
    assert total_variation(y) < 0.5 * total_variation(x)


def test_border_gradient():
    x = noisy(size=12)
    color = torch.tensor([1.0, 0.0, 0.5])[:, None]
    y, _ = descend("border_constraint", x, {"size": [2, 1], "color": [1.0, 0.0, 0.5]}, lr=1.0)
    mask = torch.zeros(12, 12, dtype=torch.bool)
    mask[:1], mask[-1:], mask[:, :2], mask[:, -2:] = True, True, True, True
    before = (x[0][:, mask] - color).abs().mean()
    after = (y[0][:, mask] - color).abs().mean()
    assert after < 0.5 * before
    assert torch.allclose(y[0][:, ~mask], x[0][:, ~mask], atol=1e-6)     # interior unchanged


def test_normalize_gradient_stretches():
    x = noisy(low=0.4, high=0.6)
    y, _ = descend("normalize_constraint", x, lr=20.0, steps=40)
    assert (y.amin(dim=(2, 3)) < x.amin(dim=(2, 3)) - 0.2).all()
    assert (y.amax(dim=(2, 3)) > x.amax(dim=(2, 3)) + 0.2).all()
    # the whole image is stretched (not only its darkest and brightest pixel)
    assert (channel_std(y) > 2 * channel_std(x)).all()
    # and linearly: the order of the pixels and their relative spacing are kept
    n = lambda t: (t - t.amin(dim=(2, 3), keepdim=True)) / (
        t.amax(dim=(2, 3), keepdim=True) - t.amin(dim=(2, 3), keepdim=True))
    assert torch.allclose(n(y), n(x), atol=1e-4)
    z, _ = descend("normalize_constraint", noisy(), {"min": 0.2, "max": 0.3}, lr=20.0, steps=40)
    assert torch.allclose(z.amin(dim=(2, 3)), torch.tensor(0.2), atol=0.02)
    assert torch.allclose(z.amax(dim=(2, 3)), torch.tensor(0.3), atol=0.02)


def test_noise_has_zero_gradient():
    _, grad = descend("noise_constraint", noisy(), {"std": 0.2}, steps=1)
    assert torch.count_nonzero(grad) == 0
    _, grad = descend("noise_constraint", noisy(), {"std": 0.2, "loss": "l1"}, steps=1)
    assert torch.count_nonzero(grad) == 0


def test_l1_and_l2_gradients_differ():
    x = flat(0.3, size=4)
    _, g2 = descend("mean_constraint", x, {"above": 0.5}, steps=1)
    _, g1 = descend("mean_constraint", x, {"above": 0.5, "loss": "l1"}, steps=1)
    n = 3 * 16
    # d/dx of 100 * mean_c(relu(0.5 - v)^k): l2 -> -100 * 2 * 0.2 / n, l1 -> -100 / n
    assert torch.allclose(g2, torch.full_like(x, -100 * 2 * 0.2 / n))
    assert torch.allclose(g1, torch.full_like(x, -100 / n))


# ------------------------------------------------------------------------- per sample

def test_expression_params_per_sample():
    x = flat(0.3, batch=2)
    sim = torch.tensor([0.5, 0.3])
    loss = constraint_loss("mean_constraint", x, {"above": ["sim", "0.5 + 0*sim", 0.5]}, sim=sim)
    assert loss.tolist() == pytest.approx([100 * 0.04, 100 * 0.08 / 3])
    loss = constraint_loss("mean_constraint", x, {"above": ["0.5 + 0*sim"]}, sim=sim)
    assert loss.tolist() == pytest.approx([4.0, 4.0])
    # random bounds: drawn per sample
    x = flat(0.0, batch=16)
    loss = constraint_loss("mean_constraint", x, {"above": ["uniform(0.1, 0.9)"]})
    assert len(set(loss.tolist())) == 16
    assert ((loss >= 100 * 0.01 - 1e-4) & (loss <= 100 * 0.81 + 1e-4)).all()
    # a time expression: one value for all
    loss = constraint_loss("mean_constraint", x, {"below": "-t"}, t=0.5)
    assert loss.tolist() == pytest.approx([100 * 0.25] * 16)
    # per-sample color and sigma
    loss = constraint_loss("border_constraint", flat(0.0, batch=2), {"color": ["sim", 0, 0]},
                           sim=torch.tensor([0.0, 1.0]))
    assert loss[0].item() == 0.0 and loss[1].item() > 0.0
    x = noisy(batch=2)
    x[1] = x[0]
    loss = constraint_loss("blur_constraint", x, {"sigma": ["0.5 + sim", "0.5 + sim"]},
                           sim=torch.tensor([0.0, 2.0]))
    assert loss[0] < loss[1]


@pytest.mark.parametrize("type_name, params", [
    ("mean_constraint", {"above": 0.5, "below": 0.6}),
    ("std_constraint", {"above": 0.5}),
    ("saturation_constraint", {"below": 0.0}),
    ("contrast_constraint", {"above": 0.9}),
    ("edge_mean_constraint", {"above": 0.5, "kernel_size": [5, 3], "sigma": [1.5, 0.7]}),
    ("blur_constraint", {"kernel_size": 5}),
    ("border_constraint", {"size": [3, 2], "color": [0.2, 0.4, 0.9]}),
    ("normalize_constraint", {"min": [0.1, 0.2, 0.3]}),
    ("blur_constraint", {"loss": "l1"}),
])
def test_batch_independence(type_name, params):
    a, b = noisy(seed=1, size=12), noisy(seed=2, size=12, low=0.3, high=0.5)
    both = constraint_loss(type_name, torch.cat([a, b]), params)
    one = torch.cat([constraint_loss(type_name, a, params), constraint_loss(type_name, b, params)])
    assert both.shape == (2,)
    assert torch.allclose(both, one, rtol=1e-5, atol=1e-7)
    # gradients stay within their sample
    x = torch.cat([a, b]).requires_grad_(True)
    constraint_loss(type_name, x, params)[0].backward()
    assert torch.count_nonzero(x.grad[1]) == 0


def test_noise_batch_shape():
    loss = constraint_loss("noise_constraint", noisy(batch=3), {"std": [0.1, 0.0, 0.2]})
    assert loss.shape == (3,) and (loss > 0).all()


# ------------------------------------------------------------------------- CUDA (where present)

@pytest.mark.cuda
@pytest.mark.parametrize("type_name, params", [
    ("mean_constraint", {"above": ["0.5 + 0*sim", 0.4, "uniform(0, 1)"], "below": 0.9}),
    ("std_constraint", {"above": 0.5}),
    ("saturation_constraint", {"below": 0.0}),
    ("contrast_constraint", {"above": 0.9}),
    ("edge_mean_constraint", {"above": 0.5, "kernel_size": [5, 3], "sigma": [1.5, 0.7]}),
    ("edge_mean_constraint", {"below": 0.0}),
    ("blur_constraint", {"sigma": ["0.5 + sim", 1]}),
    ("border_constraint", {"size": [3, 2], "color": [0.2, 0.4, 0.9]}),
    ("normalize_constraint", {"min": [0.1, 0.2, 0.3]}),
    ("noise_constraint", {"std": 0.1}),
])
def test_cuda_same_values_and_no_sync(type_name, params):
    x_cpu = torch.cat([noisy(seed=1, size=12), noisy(seed=2, size=12, low=0.3, high=0.5)])
    x = x_cpu.cuda().requires_grad_(True)
    sim = torch.tensor([0.0, 1.0])
    p = stage_params(type_name, params, batch=2, sim=sim.cuda(), device="cuda")
    ell = loss_function(p.value("loss"))
    node_type = default_registry()[type_name]
    node_type.loss(x, p, ell)           # warm-up: constant params are cached on the first call
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss = node_type.loss(x, p, ell)
        loss.sum().backward()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert loss.device.type == "cuda" and loss.shape == (2,)
    if type_name != "noise_constraint" and "uniform" not in str(params):
        want = constraint_loss(type_name, x_cpu, params, sim=sim)
        assert torch.allclose(loss.detach().cpu(), want, rtol=1e-4, atol=1e-6)
