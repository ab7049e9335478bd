"""Fused geometry: a run of geometric transforms composed into one pixel map gives the
same pixels and gradients as running them one by one."""

import pytest
import torch

from clipig_nodes.engine import imaging
from clipig_nodes.registry import default_registry

from .engine_helpers import make_context, stage_params

CHAIN = [("random_shift", {"range": "-1 1"}),
         ("random_rotate", {"degree": "-10 10", "center": "0 1"}),
         ("random_scale", {"range": "0.5 1."}), ("center_crop", {"size": 37}),
         ("shift", {"offset": "3 -2"}), ("crop", {"rect": "2 3 30 20"}),
         ("random_crop", {"size": "10 12"}), ("random_translate", {"range": "0.3 0.2"}),
         ("rotate", {"degree": 33})]


def run_chain(pixels, batch, seed, fused, chain=CHAIN):
    registry = default_registry()
    ctx = make_context(seed=seed)
    x = imaging.Warped.of(pixels, batch) if fused else pixels.expand(batch, -1, -1, -1)
    for name, params in chain:
        x = registry[name].apply(x, stage_params(name, params, batch=batch, ctx=ctx))
    return imaging.materialize(x)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cut", [1, 3, 4, 9])
def test_fused_equals_sequential(seed, cut):
    pixels = torch.rand(1, 3, 53, 61, requires_grad=True)
    plain = run_chain(pixels, 5, seed, False, CHAIN[:cut])
    fused = run_chain(pixels, 5, seed, True, CHAIN[:cut])
    assert fused.shape == plain.shape
    assert torch.equal(fused, plain)
    g_plain, = torch.autograd.grad(plain.square().sum(), pixels)
    g_fused, = torch.autograd.grad(fused.square().sum(), pixels)
    assert torch.allclose(g_plain, g_fused, atol=1e-6)


def test_every_geometric_node_is_fusable():
    registry = default_registry()
    geometric = {t.name for t in registry if t.geometric}
    assert geometric == {"rotate", "random_rotate", "random_scale", "random_translate", "shift",
                         "random_shift", "center_crop", "random_crop", "crop"}
    assert {name for name, _ in CHAIN} == geometric


def test_warped_batch_source_and_black_fill():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    warped = imaging.Warped.of(x, 2)
    assert torch.equal(warped.tensor(), x)
    window = imaging.crop_window(warped, 3, -1, 4, 3).tensor()
    assert torch.equal(window, imaging.crop_window(x, 3, -1, 4, 3))
    assert window[:, :, 0].abs().sum() == 0           # the row above the image is black
