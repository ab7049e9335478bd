"""The torch code of the 26 transforms (nodes/transforms_*.py) and the shared helpers
(clipig_nodes/engine/imaging.py): shapes, documented behaviour, per-sample randomness,
determinism, gradients, no host syncs, autocast."""

import math

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from clipig_nodes.engine import imaging
from clipig_nodes.registry import default_registry

from .engine_helpers import apply, make_context, stage_params

H, W = 16, 24            # non-square on purpose: catches swapped width and height

# working params for every transform, and the [H, W] they give on a H x W image
PARAMS = {
    "add": {"value": [0.1, 0.2, 0.3]},
    "mul": {"factor": [0.5, 1.0, 2.0]},
    "mean": {"mean": [0.2, 0.5, 0.8]},
    "clamp": {"range": [0.2, 0.7]},
    "quantize": {"step": [0.25, 0.5, 0.1]},
    "saturation": {"factor": 0.5},
    "contrast": {"factor": 0.5},
    "blur": {"kernel_size": [5, 3], "sigma": [1.5, 0.7]},
    "border": {"size": [2, 1], "color": [1.0, 0.0, 0.5]},
    "edge": {"amount": [1.0, 2.0, 3.0]},
    "noise": {"std": [0.1, 0.2, 0.3]},
    "bwnoise": {"std": 0.1},
    "rnoise": {"std": [0.1, 0.2, 0.3], "resolution": [5, 3]},
    "fnoise": {"std": [0.1, 0.2, 0.3]},
    "rotate": {"degree": 30},
    "random_rotate": {"degree": [-30, 30], "center": [0.4, 0.6]},
    "random_scale": {"range": [0.5, 1.5]},
    "random_translate": {"range": [0.2, 0.3]},
    "shift": {"offset": [0.25, 3]},
    "random_shift": {"range": [-0.5, 0.5]},
    "resize": {"size": [10, 7]},
    "center_crop": {"size": [10, 7]},
    "random_crop": {"size": [10, 7]},
    "crop": {"rect": [0.25, 2, 0.5, 5]},
    "repeat": {"count": [3, 2]},
    "pad": {"size": [2, 3], "mode": "wrap"},
}
SHAPES = {"resize": (7, 10), "center_crop": (7, 10), "random_crop": (7, 10), "crop": (5, 12),
          "repeat": (2 * H, 3 * W), "pad": (H + 6, W + 4)}
RANDOM = ["noise", "bwnoise", "rnoise", "fnoise", "random_rotate", "random_scale",
          "random_translate", "random_shift", "random_crop"]
# the gradient of quantize is zero by design
DIFFERENTIABLE = [n for n in PARAMS if n != "quantize"]


def numbered(batch=1, h=H, w=W):
    """Every pixel value is distinct: value = index in the flattened batch."""
    return torch.arange(batch * 3 * h * w, dtype=torch.float32).reshape(batch, 3, h, w)


def same_images(batch=4, h=H, w=W, seed=0):
    """A batch of one random image repeated (per-sample draws must make them differ)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, h, w, generator=g).expand(batch, 3, h, w).contiguous()


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


# --- all 26 -----------------------------------------------------------------------------------

def test_every_transform_has_torch_code():
    # CLIPig's 26 (cutouts, which CLIPig lacks, has its own tests in test_cutouts.py)
    transforms = [t for t in default_registry().by_category("transform") if t.legacy_name]
    assert len(transforms) == 26
    assert {t.name for t in transforms} == set(PARAMS)
    for t in transforms:
        assert callable(getattr(t, "apply", None)), t.name


def test_node_modules_import_without_torch():
    import subprocess
    import sys

    code = ("import sys; from clipig_nodes.registry import default_registry; "
            "default_registry(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_output_shape_dtype_and_device(name):
    x = rand(2, 3, H, W)
    y = apply(name, x, PARAMS[name], seed=1)
    assert y.shape == (2, 3, *SHAPES.get(name, (H, W)))
    assert y.dtype == torch.float32 and y.device == x.device
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradient_reaches_the_pixels(name):
    x = (0.1 + 0.8 * rand(2, 3, H, W)).requires_grad_(True)
    y = apply(name, x, PARAMS[name], seed=1)
    weights = rand(*y.shape, seed=5)
    (y * weights).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", RANDOM)
def test_random_transforms_are_per_sample_and_deterministic(name):
    x = same_images(h=32, w=48)
    y = apply(name, x, PARAMS[name], seed=3)
    for b in range(1, x.shape[0]):
        assert not torch.equal(y[0], y[b]), f"sample {b} equals sample 0"
    assert torch.equal(y, apply(name, x, PARAMS[name], seed=3))
    assert not torch.equal(y, apply(name, x, PARAMS[name], seed=4))


@pytest.mark.parametrize("name", sorted(set(PARAMS) - set(RANDOM)))
def test_fixed_transforms_treat_samples_alike(name):
    x = same_images()
    y = apply(name, x, PARAMS[name])
    assert torch.equal(y[0], y[3])


class _HostSync(AssertionError):
    pass


@pytest.fixture
def no_host_sync(monkeypatch):
    """Make every tensor -> Python conversion raise while the test runs."""
    def refuse(self, *args, **kwargs):
        raise _HostSync("host sync inside a transform")

    for attr in ("item", "tolist", "__float__", "__int__", "__bool__", "__index__"):
        monkeypatch.setattr(torch.Tensor, attr, refuse)


SYNC_EXPRESSIONS = {
    "noise": {"std": ["uniform(0, 0.2)", 0.1, "0.05 + uniform(0, 0.1)"]},
    "rotate": {"degree": "uniform(-90, 90)", "center": ["uniform(0.3, 0.7)", 0.5]},
    "shift": {"offset": ["uniform(-0.5, 0.5)", "uniform(1, 5)"]},
    "add": {"value": ["uniform(0, 1)", 0, 0]},
    "blur": {"kernel_size": [5, 5], "sigma": ["uniform(0.5, 2)", 1.0]},
}


@pytest.mark.parametrize("name", sorted(PARAMS) + sorted(f"{n}:expr" for n in SYNC_EXPRESSIONS))
def test_no_host_sync(name, no_host_sync):
    base = name.removesuffix(":expr")
    params = SYNC_EXPRESSIONS[base] if name.endswith(":expr") else PARAMS[base]
    x = rand(4, 3, H, W).requires_grad_(True)
    with torch.set_grad_enabled(True):
        y = apply(base, x, params, seed=2)
    assert y.shape[:2] == (4, 3)


def test_the_sync_guard_works(no_host_sync):
    with pytest.raises(_HostSync):
        float(torch.ones(()))
    with pytest.raises(_HostSync):
        torch.ones(2).tolist()


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_bf16_autocast_keeps_float32(name):
    x = rand(2, 3, H, W)
    plain = apply(name, x, PARAMS[name], seed=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = apply(name, x, PARAMS[name], seed=1)
    assert y.dtype == torch.float32 and y.shape == plain.shape
    assert torch.allclose(y, plain, atol=1e-5), (y - plain).abs().max()


# --- color ------------------------------------------------------------------------------------

def test_add_mul_exact():
    x = rand(2, 3, H, W)
    c = torch.tensor([0.1, -0.2, 0.3]).view(1, 3, 1, 1)
    assert torch.allclose(apply("add", x, {"value": [0.1, -0.2, 0.3]}), x + c)
    assert torch.allclose(apply("mul", x, {"factor": [0.1, -0.2, 0.3]}), x * c)
    assert torch.allclose(apply("add", x, {"value": 0.5}), x + 0.5)   # one value broadcasts


def test_mean_sets_each_channel_mean_per_sample():
    x = rand(3, 3, H, W)
    x[1] *= 0.2                                    # samples with different means
    y = apply("mean", x, {"mean": [0.2, 0.5, 0.8]})
    means = y.mean(dim=(2, 3))
    assert torch.allclose(means, torch.tensor([0.2, 0.5, 0.8]).expand(3, 3), atol=1e-5)
    # a shift only: differences between pixels are kept
    assert torch.allclose(y - y[..., :1, :1], x - x[..., :1, :1], atol=1e-5)


def test_clamp_bounds():
    x = rand(2, 3, H, W) * 3 - 1
    y = apply("clamp", x, {"range": [0.2, 0.7]})
    assert y.min() == pytest.approx(0.2) and y.max() == pytest.approx(0.7)
    inside = (x > 0.2) & (x < 0.7)
    assert torch.equal(y[inside], x[inside])


def test_quantize_steps():
    x = rand(2, 3, H, W)
    y = apply("quantize", x, {"step": [0.25, 0.5, 0.1]})
    steps = torch.tensor([0.25, 0.5, 0.1]).view(1, 3, 1, 1)
    assert torch.allclose(y, torch.floor(x / steps) * steps)
    assert set(y[:, 0].unique().tolist()) <= {0.0, 0.25, 0.5, 0.75}
    assert (y <= x + 1e-6).all() and (x - y < steps + 1e-6).all()


def test_saturation():
    x = rand(2, 3, H, W)
    gray = apply("saturation", x, {"factor": 0})
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    expected = 0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(gray[:, 0], expected, atol=1e-6)
    assert torch.allclose(apply("saturation", x, {"factor": 1}), x)
    for factor in (0.5, 2.0):
        y = apply("saturation", x, {"factor": factor})
        assert torch.allclose(y, TF.adjust_saturation(x, factor), atol=1e-6)
    assert apply("saturation", x * 3, {"factor": 1}).max() <= 1.0      # clamps to [0, 1]


def test_contrast():
    x = rand(3, 3, H, W)
    x[2] *= 0.3
    flat = apply("contrast", x, {"factor": 0})
    means = (0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).mean(dim=(1, 2))
    assert torch.allclose(flat, means.view(3, 1, 1, 1).expand_as(x), atol=1e-6)
    assert not torch.allclose(flat[0], flat[2])                      # a mean per sample
    for factor in (0.5, 1.0, 2.0):
        y = apply("contrast", x, {"factor": factor})
        assert torch.allclose(y, TF.adjust_contrast(x, factor), atol=1e-6)


# --- filters ----------------------------------------------------------------------------------

def test_blur_matches_torchvision():
    x = rand(2, 3, H, W)
    cases = [([5, 3], [1.5, 0.7]), ([3, 3], None), ([7, 9], [2.0, 0.5]), ([1, 5], [1.0, 1.0])]
    for kernel, sigma in cases:
        y = apply("blur", x, {"kernel_size": kernel, "sigma": sigma})
        assert torch.allclose(y, TF.gaussian_blur(x, kernel, sigma), atol=1e-5), (kernel, sigma)


def test_blur_sanitises_kernel_and_sigma():
    x = rand(1, 3, H, W)
    # even sizes grow to the next odd one
    assert torch.allclose(apply("blur", x, {"kernel_size": [4, 2]}), TF.gaussian_blur(x, [5, 3]),
                          atol=1e-5)
    # 0 and 1 are the identity
    assert torch.allclose(apply("blur", x, {"kernel_size": [0, 1]}), x)
    # a sigma of 0 counts as 1e-4: the kernel is a single 1, the identity
    assert torch.allclose(apply("blur", x, {"kernel_size": [5, 5], "sigma": [0, 0]}), x)
    assert imaging.sanitize_kernel_size(-3) == 1 and imaging.sanitize_kernel_size(6) == 7
    assert imaging.default_sigma(3) == pytest.approx(0.8)


def test_blur_keeps_constants_and_spreads_an_impulse():
    const = torch.full((1, 3, H, W), 0.3)
    assert torch.allclose(apply("blur", const, {"kernel_size": [7, 7]}), const)
    # a kernel larger than the image works too (reflect padding of any size)
    assert torch.allclose(apply("blur", const[..., :4, :5], {"kernel_size": [21, 15]}),
                          const[..., :4, :5])
    impulse = torch.zeros(1, 3, H, W)
    impulse[..., 8, 12] = 1.0
    y = apply("blur", impulse, {"kernel_size": [5, 5], "sigma": [1.0, 1.0]})
    assert torch.allclose(y.sum(dim=(2, 3)), torch.ones(1, 3), atol=1e-5)
    assert y[..., 8, 12].max() < 1.0 and (y[..., 6:11, 10:15] > 0).all()
    assert y[..., 8, 12].equal(y.amax(dim=(2, 3)))
    assert (y[..., :5, :] == 0).all()                                # nothing beyond the kernel


def test_gaussian_blur_per_sample_sigma():
    x = rand(3, 3, H, W)
    sigma = torch.tensor([[0.5, 0.5], [1.0, 2.0], [3.0, 0.7]])
    y = imaging.gaussian_blur(x, (5, 7), sigma)
    for b in range(3):
        one = imaging.gaussian_blur(x[b:b + 1], (5, 7), tuple(sigma[b].tolist()))
        assert torch.allclose(y[b:b + 1], one, atol=1e-6)
        assert torch.allclose(one, TF.gaussian_blur(x[b:b + 1], [5, 7], sigma[b].tolist()),
                              atol=1e-5)


def test_blur_sigma_expression_per_sample():
    x = same_images()
    y = apply("blur", x, {"kernel_size": [7, 7], "sigma": ["uniform(0.3, 3)", 1.0]}, seed=1)
    assert not torch.allclose(y[0], y[1])


def test_border_paints_exactly_the_border():
    x = rand(2, 3, H, W)
    y = apply("border", x, {"size": [3, 2], "color": [1.0, 0.5, 0.0]})
    mask = torch.zeros(H, W, dtype=torch.bool)
    mask[:2], mask[-2:], mask[:, :3], mask[:, -3:] = True, True, True, True
    color = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1).expand_as(x)
    assert torch.equal(y[..., mask], color[..., mask])
    assert torch.equal(y[..., ~mask], x[..., ~mask])


def test_border_sizes_zero_and_too_large():
    x = rand(1, 3, H, W)
    assert torch.equal(apply("border", x, {"size": [0, 0]}), x)
    y = apply("border", x, {"size": [0, 1]})                         # rows only
    assert (y[..., [0, -1], :] == 0).all() and torch.equal(y[..., 1:-1, :], x[..., 1:-1, :])
    y = apply("border", x, {"size": [100, 0], "color": [0.2, 0.2, 0.2]})
    assert torch.allclose(y, torch.full_like(x, 0.2))


def test_paint_border_per_sample_color():
    x = torch.zeros(2, 3, 4, 5)
    y = imaging.paint_border(x, (1, 1), torch.tensor([[1.0, 0, 0], [0, 0, 1.0]]))
    assert y[0, 0, 0, 0] == 1 and y[0, 2, 0, 0] == 0 and y[1, 2, 0, 0] == 1
    assert (y[:, :, 1:-1, 1:-1] == 0).all()


def test_edge():
    x = rand(2, 3, H, W)
    amount = torch.tensor([1.0, 2.0, 5.0]).view(1, 3, 1, 1)
    y = apply("edge", x, {"amount": [1.0, 2.0, 5.0]})
    expected = ((x - TF.gaussian_blur(x, [3, 3])) * amount).clamp(0, 1)
    assert torch.allclose(y, expected, atol=1e-5)
    assert torch.equal(apply("edge", torch.full_like(x, 0.4), {}), torch.zeros_like(x))
    # even kernels are sanitised
    y = apply("edge", x, {"kernel_size": [4, 4], "sigma": [1, 1]})
    assert torch.allclose(y, (x - TF.gaussian_blur(x, [5, 5], [1.0, 1.0])).clamp(0, 1), atol=1e-5)


# --- noise ------------------------------------------------------------------------------------

def test_noise_statistics_per_channel():
    x = torch.zeros(4, 3, 64, 64)
    y = apply("noise", x, {"std": [0.1, 0.5, 1.0]}, seed=7)
    std = y.transpose(0, 1).reshape(3, -1).std(dim=1)
    mean = y.transpose(0, 1).reshape(3, -1).mean(dim=1)
    assert torch.allclose(std, torch.tensor([0.1, 0.5, 1.0]), rtol=0.05)
    assert (mean.abs() < 0.03).all()
    assert torch.equal(apply("noise", x, {"std": [0.3, 0, 0]})[:, 1:], x[:, 1:])


def test_noise_std_expression_per_sample():
    x = torch.zeros(6, 3, 32, 32)
    y = apply("noise", x, {"std": ["uniform(0, 1)", 0, 0]}, seed=2)
    stds = y[:, 0].reshape(6, -1).std(dim=1)
    assert stds.max() - stds.min() > 0.05
    assert (y[:, 1:] == 0).all()


def test_bwnoise_same_for_all_channels():
    x = torch.zeros(3, 3, 64, 64)
    y = apply("bwnoise", x, {"std": 0.5}, seed=1)
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])
    assert y.std().item() == pytest.approx(0.5, rel=0.05)
    assert abs(y.mean().item()) < 0.03
    assert not torch.equal(y[0], y[1])


def test_rnoise():
    x = torch.zeros(2, 3, H, W)
    # a 1 x 1 field: one constant per channel and sample
    y = apply("rnoise", x, {"std": [1, 1, 1], "resolution": [1, 1]}, seed=1)
    assert torch.allclose(y, y[..., :1, :1].expand_as(y))
    # [width, height] = [3, 1]: varies across, constant down (catches a w/h swap)
    y = apply("rnoise", x, {"std": [1, 1, 1], "resolution": [3, 1]}, seed=1)
    assert torch.allclose(y, y[..., :1, :].expand_as(y))
    assert not torch.allclose(y, y[..., :, :1].expand_as(y))
    # std per channel; at full resolution the field is plain gaussian noise
    y = apply("rnoise", torch.zeros(4, 3, 64, 64), {"std": [0.0, 0.5, 1.0],
                                                     "resolution": [64, 64]}, seed=1)
    assert (y[:, 0] == 0).all()
    assert y[:, 1].std().item() == pytest.approx(0.5, rel=0.05)
    assert y[:, 2].std().item() == pytest.approx(1.0, rel=0.05)
    # upscaling interpolates: neighbouring pixels are close
    y = apply("rnoise", x, {"std": [1, 1, 1], "resolution": [4, 2]}, seed=1)
    assert (y[..., :, 1:] - y[..., :, :-1]).abs().max() < (y.max() - y.min()) / 2


def test_fnoise_odd_size_and_linearity():
    x = rand(2, 3, 5, 7)                                              # H * W = 35, odd
    assert torch.allclose(apply("fnoise", x, {"std": 0}, seed=1), x, atol=1e-5)
    a = apply("fnoise", x, {"std": [0.1, 0.1, 0.0]}, seed=1)
    b = apply("fnoise", x, {"std": [0.2, 0.2, 0.0]}, seed=1)
    assert torch.allclose(b - x, 2 * (a - x), atol=1e-4)             # noise scales with std
    assert torch.allclose(a[:, 2], x[:, 2], atol=1e-5)
    assert (a - x).abs().max() > 0.01


def test_fnoise_matches_the_definition():
    x = rand(1, 3, 6, 8)
    y = apply("fnoise", x, {"std": [0.1, 0.2, 0.3]}, seed=9)
    gen = make_context(seed=9).generator
    n = 48
    noise = torch.view_as_complex(torch.randn(1, 3, n // 2 + 1, 2, generator=gen))
    spectrum = torch.fft.rfft(x.reshape(1, 3, n)) + noise * 15 * torch.tensor([.1, .2, .3])[:, None]
    assert torch.allclose(y, torch.fft.irfft(spectrum, n=n).reshape(1, 3, 6, 8), atol=1e-5)


# --- geometry ---------------------------------------------------------------------------------

def test_rotate_zero_is_identity():
    x = rand(2, 3, H, W)
    assert torch.equal(apply("rotate", x, {"degree": 0}), x)
    assert torch.equal(apply("rotate", x, {"degree": 360}), x)


def test_rotate_moves_a_pixel_counter_clockwise():
    x = torch.zeros(1, 3, 16, 16)
    x[..., 7, 12] = 1.0                 # right of the centre (between pixels 7 and 8)
    y = apply("rotate", x, {"degree": 90})
    assert y.sum() == 3 and y[0, :, 3, 7].eq(1).all()                # now above the centre
    y = apply("rotate", x, {"degree": -90})
    assert y.sum() == 3 and y[0, :, 12, 8].eq(1).all()               # now below
    y = apply("rotate", x, {"degree": 180})
    assert y.sum() == 3 and y[0, :, 8, 3].eq(1).all()                # now left


def test_rotate_about_another_center_and_black_fill():
    x = torch.zeros(1, 3, 12, 20)
    # centre pixel (int(0.25 * 20), int(0.5 * 12)) = (5, 6): pixel (row 5, col 7) is right of it
    x[..., 5, 7] = 1.0
    y = apply("rotate", x, {"degree": 90, "center": [0.25, 0.5]})
    assert y[0, :, 3, 4].eq(1).all() and y.sum() == 3
    ones = apply("rotate", torch.ones(1, 3, 12, 20), {"degree": 45})
    assert ones[..., 0, 0].eq(0).all() and ones[..., 6, 10].eq(1).all()


@pytest.mark.parametrize("degree,center", [(30, (0.5, 0.5)), (90, (0.5, 0.5)), (-60, (0.3, 0.7)),
                                           (135, (0.8, 0.1)), (90, (0.25, 0.5))])
def test_rotate_matches_torchvision(degree, center):
    x = rand(1, 3, 12, 20)
    y = apply("rotate", x, {"degree": degree, "center": list(center)})
    pivot = [int(center[0] * 20), int(center[1] * 12)]
    expected = TF.rotate(x, degree, InterpolationMode.NEAREST, center=pivot)
    assert (y != expected).float().mean() < 0.05       # exact nearest ties may round apart


def test_random_rotate():
    x = rand(3, 3, H, W)
    fixed = apply("random_rotate", x, {"degree": [90, 90], "center": [0.5, 0.5]})
    assert torch.equal(fixed, apply("rotate", x, {"degree": 90}))
    # every sample is one rotation of itself about a centre in the range
    y = apply("random_rotate", x, {"degree": [-45, 45], "center": [0.25, 0.75]}, seed=1)
    assert not torch.equal(y[0], y[1])


def test_random_rotate_draws_cx_and_cy_independently():
    x = torch.zeros(16, 3, 16, 16)
    x[..., 0, 0] = 1.0
    # 180 degrees about (cx, cy): the corner pixel lands at (2 int(cy H) - 1, 2 int(cx W) - 1)
    y = apply("random_rotate", x, {"degree": [180, 180], "center": [0.25, 0.75]}, seed=4)
    positions = [divmod(int(torch.nonzero(y[b, 0].flatten())[0]), 16) for b in range(16)
                 if y[b, 0].sum() == 1]
    assert len(positions) > 4
    assert any(r != c for r, c in positions)                         # cx != cy sometimes


def test_random_scale():
    x = rand(3, 3, H, W)
    assert torch.equal(apply("random_scale", x, {"range": [1, 1]}), x)
    y = apply("random_scale", x, {"range": [2, 2]})
    expected = TF.affine(x, angle=0.0, translate=[0, 0], scale=2.0, shear=[0.0, 0.0],
                         interpolation=InterpolationMode.NEAREST)
    assert (y != expected).float().mean() < 0.02
    small = apply("random_scale", torch.ones(1, 3, H, W), {"range": [0.5, 0.5]})
    assert small[..., 0, 0].eq(0).all() and small[..., H // 2, W // 2].eq(1).all()
    assert small.sum() == pytest.approx(3 * H * W / 4)


def test_random_scale_twice_as_large():
    x = torch.zeros(1, 3, 16, 16)
    x[..., 6:10, 6:10] = 1.0                                         # a 4 x 4 square at the centre
    y = apply("random_scale", x, {"range": [2, 2]})
    assert y[0, 0].sum() == 64 and y[0, 0, 4:12, 4:12].eq(1).all()


def _find_offset(x, y, dxs, dys):
    """The (dx, dy) whose black-filled translation of x gives y, or None."""
    for dy in dys:
        for dx in dxs:
            moved = torch.zeros_like(x)
            h, w = x.shape[-2:]
            src = x[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
            moved[..., max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] = src
            if torch.equal(moved, y):
                return dx, dy
    return None


def test_random_translate():
    x = numbered(6) + 1
    assert torch.equal(apply("random_translate", x, {"range": [0, 0]}), x)
    y = apply("random_translate", x, {"range": [0.25, 0.5]}, seed=5)
    offsets = [_find_offset(x[b], y[b], range(-6, 7), range(-8, 9)) for b in range(6)]
    assert None not in offsets
    assert len(set(offsets)) > 1


def test_shift_pixels_fractions_and_wrap_around():
    x = numbered(1)
    assert torch.equal(apply("shift", x, {"offset": [3, 0]}), torch.roll(x, 3, dims=3))
    assert torch.equal(apply("shift", x, {"offset": [0, 2]}), torch.roll(x, 2, dims=2))
    # fractions of the size: 0.25 * 24 = 6, 0.5 * 16 = 8
    assert torch.equal(apply("shift", x, {"offset": [0.25, 0.5]}), torch.roll(x, (8, 6), (2, 3)))
    # negative values move left/up; -0.3 * 24 = -7.2 truncates to -7
    assert torch.equal(apply("shift", x, {"offset": [-0.3, -2]}), torch.roll(x, (-2, -7), (2, 3)))
    # modulo the size
    assert torch.equal(apply("shift", x, {"offset": [W + 1, 2 * H]}), torch.roll(x, 1, dims=3))
    # content leaving on the right comes back on the left
    y = apply("shift", x, {"offset": [1, 0]})
    assert torch.equal(y[..., 0], x[..., W - 1]) and torch.equal(y[..., 1:], x[..., :-1])


def test_shift_per_sample_offsets():
    x = same_images(4)
    y = apply("shift", x, {"offset": ["uniform(-0.5, 0.5)", 0]}, seed=1)
    assert not torch.equal(y[0], y[1])
    dx = torch.tensor([3, -5, 0, 25])
    rolled = imaging.roll(x, dx, torch.zeros(4, dtype=torch.long))
    for b in range(4):
        assert torch.equal(rolled[b], torch.roll(x[b], int(dx[b]), dims=2))


def _find_roll(x, y):
    for dy in range(x.shape[-2]):
        for dx in range(x.shape[-1]):
            if torch.equal(torch.roll(x, (dy, dx), (-2, -1)), y):
                return dx, dy
    return None


def test_random_shift():
    x = numbered(1).expand(6, 3, H, W)
    assert torch.equal(apply("random_shift", x, {"range": [2, 2]}), torch.roll(x, (2, 2), (2, 3)))
    assert torch.equal(apply("random_shift", x, {"range": [1, 1, 3, 3]}),
                       torch.roll(x, (3, 1), (2, 3)))
    y = apply("random_shift", x, {"range": [0, 0.5, 0, 0]}, seed=2)
    offsets = [_find_roll(x[b], y[b]) for b in range(6)]
    assert all(o is not None and 0 <= o[0] < 12 and o[1] == 0 for o in offsets)
    assert len(set(offsets)) > 1


# --- resolution -------------------------------------------------------------------------------

def test_resize():
    x = rand(2, 3, H, W)
    y = apply("resize", x, {"size": [10, 7]})
    assert y.shape == (2, 3, 7, 10)
    assert torch.allclose(y, F.interpolate(x, size=(7, 10), mode="bilinear", align_corners=False))
    const = torch.full((1, 3, H, W), 0.25)
    assert torch.allclose(apply("resize", const, {"size": [40, 9]}), torch.full((1, 3, 9, 40), .25))
    assert torch.equal(apply("resize", x, {"size": [W, H]}), x)


def test_center_crop_is_width_height():
    x = numbered(1)
    y = apply("center_crop", x, {"size": [10, 4]})
    assert y.shape == (1, 3, 4, 10)
    assert torch.equal(y, x[..., 6:10, 7:17])


@pytest.mark.parametrize("size", [[10, 4], [7, 5], [24, 16], [30, 20], [31, 9], [5, 21], [1, 1]])
def test_center_crop_matches_torchvision(size):
    x = numbered(1) + 1
    y = apply("center_crop", x, {"size": size})
    assert torch.equal(y, TF.center_crop(x, [size[1], size[0]]))     # torchvision: [h, w]


def test_random_crop():
    x = numbered(32)
    y = apply("random_crop", x, {"size": [23, 14]}, seed=1)
    assert y.shape == (32, 3, 14, 23)
    starts = set()
    for b in range(32):
        found = [(i, j) for i in range(3) for j in range(2)
                 if torch.equal(y[b], x[b, :, i:i + 14, j:j + 23])]
        assert len(found) == 1
        starts.add(found[0])
    assert len(starts) == 6                                          # every position happens
    assert torch.equal(apply("random_crop", x, {"size": [W, H]}), x)


def test_random_crop_larger_than_the_image():
    with pytest.raises(ValueError, match="larger than the image"):
        apply("random_crop", rand(1, 3, H, W), {"size": [W + 1, H]})


def test_crop_pixels_fractions_and_padding():
    x = numbered(1) + 1
    assert torch.equal(apply("crop", x, {"rect": [2, 1, 3, 4]}), x[..., 1:5, 2:5])
    # below 1: fractions of the width (x, w) and height (y, h)
    assert torch.equal(apply("crop", x, {"rect": [0.25, 0.5, 0.5, 0.25]}), x[..., 8:12, 6:18])
    # 1 is one pixel, not 100 %
    assert torch.equal(apply("crop", x, {"rect": [0, 0, 1, 1]}), x[..., :1, :1])
    # outside the image: black
    y = apply("crop", x, {"rect": [W - 2, H - 1, 4, 3]})
    assert y.shape == (1, 3, 3, 4)
    assert torch.equal(y[..., :1, :2], x[..., -1:, -2:]) and y[..., 1:, :].eq(0).all()
    assert y[..., :, 2:].eq(0).all()
    # negative values are fractions too: -0.25 * 24 = -6
    y = apply("crop", x, {"rect": [-0.25, 0, 12, 2]})
    assert y[..., :, :6].eq(0).all() and torch.equal(y[..., :, 6:], x[..., :2, :6])
    y = apply("crop", x, {"rect": [100, 100, 2, 2]})
    assert y.shape == (1, 3, 2, 2) and y.eq(0).all()


def test_crop_empty_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        apply("crop", rand(1, 3, H, W), {"rect": [0, 0, 0, 5]})


def test_repeat():
    x = rand(2, 3, H, W)
    y = apply("repeat", x, {"count": [3, 2]})
    assert y.shape == (2, 3, 2 * H, 3 * W)
    for i in range(2):
        for j in range(3):
            assert torch.equal(y[..., i * H:(i + 1) * H, j * W:(j + 1) * W], x)
    assert torch.equal(apply("repeat", x, {"count": [1, 1]}), x)


def test_pad_modes():
    x = rand(2, 3, H, W)
    y = apply("pad", x, {"size": [2, 3], "color": [1.0, 0.5, 0.0]})
    assert y.shape == (2, 3, H + 6, W + 4)
    assert torch.equal(y[..., 3:-3, 2:-2], x)
    assert y[:, 0, 0].eq(1).all() and y[:, 1, :, 0].eq(0.5).all() and y[:, 2, -1].eq(0).all()
    assert torch.equal(apply("pad", x, {"size": [2, 3], "mode": "edge"}),
                       F.pad(x, (2, 2, 3, 3), mode="replicate"))
    assert torch.equal(apply("pad", x, {"size": [2, 3], "mode": "wrap"}),
                       F.pad(x, (2, 2, 3, 3), mode="circular"))
    assert torch.equal(apply("pad", x, {"size": [0, 0]}), x)
    y = apply("pad", x, {"size": [0, 1], "mode": "fill"})
    assert y.shape == (2, 3, H + 2, W) and y[..., 0, :].eq(0).all()


def test_pad_wrap_larger_than_the_image():
    x = numbered(1, 2, 3)
    y = apply("pad", x, {"size": [4, 3], "mode": "wrap"})
    assert y.shape == (1, 3, 8, 11)
    assert torch.equal(y, x.repeat(1, 1, 6, 5)[..., 1:9, 2:13])


# --- per-sample expression values -------------------------------------------------------------

def test_expression_values_differ_per_sample():
    x = same_images(4)
    y = apply("add", x, {"value": ["uniform(0, 1)", 0, 0]}, seed=1)
    offsets = (y - x)[:, 0, 0, 0]
    assert torch.allclose((y - x)[:, 0], offsets.view(4, 1, 1).expand(4, H, W), atol=1e-6)
    assert len(set(offsets.tolist())) == 4
    y = apply("rotate", x, {"degree": "uniform(-90, 90)"}, seed=1)
    assert not torch.equal(y[0], y[1])
    y = apply("saturation", x, {"factor": "uniform(0, 2)"}, seed=1)
    assert not torch.equal(y[0], y[1])


def test_stage_params_batch_matches_tensor_shapes():
    p = stage_params("noise", {"std": [0.1, 0.2, 0.3]}, batch=5)
    assert p.tensor("std").shape == (5, 3)
    assert math.isclose(float(p.tensor("std")[4, 2]), 0.3, rel_tol=1e-6)


# --- CUDA (skipped without a GPU) -------------------------------------------------------------

cuda = pytest.mark.cuda   # run on a GPU machine: python -m pytest -m cuda


@cuda
@pytest.mark.parametrize("name", sorted(PARAMS) + sorted(f"{n}:expr" for n in SYNC_EXPRESSIONS))
def test_cuda_no_sync_and_same_result_as_cpu(name):
    base = name.removesuffix(":expr")
    params = SYNC_EXPRESSIONS[base] if name.endswith(":expr") else PARAMS[base]
    x = rand(4, 3, H, W)
    xc = x.cuda().requires_grad_(True)
    apply(base, xc, params, seed=2, device="cuda")                   # warm up (lazy init)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        y = apply(base, xc, params, seed=2, device="cuda")
        y.sum().backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert y.device.type == "cuda" and y.dtype == torch.float32
    again = apply(base, xc, params, seed=2, device="cuda")
    assert torch.equal(y, again)
    if base not in RANDOM and not name.endswith(":expr"):
        expected = apply(base, x, params, seed=2)
        mismatch = (~torch.isclose(y.detach().cpu(), expected, atol=1e-4)).float().mean()
        assert mismatch < 0.01, mismatch
