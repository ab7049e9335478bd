"""Constraints: non-CLIP losses on what CLIP sees of a target (the transformed view).

Every constraint type has ``loss(x, p, ell) -> [B]``: x [B,3,H,W] are the target's
views as CLIP sees them (resized, clamped to [0, 1]), p the StageParams of the call
(per-sample params via ``p.tensor``), ell(a, b) -> [B] the chosen loss (see
:meth:`Constraint.loss_function`). The result is the per-sample loss before the constraint's
weight, which the engine applies.

The above/below family (mean, std, saturation, contrast, edge_mean) measures one
value per channel and penalises it only where it lies on the wrong side of a bound:
``K * [ell(relu(above - v), 0) + ell(relu(v - below), 0)]`` (each term only if that
bound is set). This is CLIPig's documented behaviour; its code penalised any
deviation from either bound (an equality target).
"""

from clipig_nodes.nodebase import Constraint
from clipig_nodes.limits import MAX_KERNEL, MAX_SIDE
from clipig_nodes.registry import TRLC, Vector

ABOVE = Vector("above", 3, None, "Penalise the value per channel [r, g, b] below this.", groups=TRLC)
BELOW = Vector("below", 3, None, "Penalise the value per channel [r, g, b] above this.", groups=TRLC)
KERNEL = Vector("kernel_size", 2, [3, 3], "Gaussian kernel size [x, y]; even sizes grow to the "
                                          "next odd one.", groups=TRLC, item="int", minimum=0,
                maximum=MAX_KERNEL)
SIGMA = Vector("sigma", 2, None, "Gaussian sigma [x, y]; unset: 0.3 * ((k - 1) / 2 - 1) + 0.8.",
               groups=TRLC, minimum=0)


def _blur(x, p):
    """x blurred with the node's kernel_size (one value per call) and sigma (per sample)."""
    from clipig_nodes.engine import imaging

    kernel = imaging.host_value(p, "kernel_size")
    return imaging.gaussian_blur(x, kernel, imaging.optional_tensor(p, "sigma"))


def _channels(t):
    """[B, 3] -> [B, 3, 1, 1], to broadcast over the pixels."""
    return t[:, :, None, None]


class AboveBelow(Constraint):
    """Shared rule of the above/below family: at least one bound.

    Subclasses define ``measure(x, p) -> [B, 3]`` (the value per channel) and the
    factor ``K``. The loss is ``K * [ell(relu(above - v), 0) + ell(relu(v - below), 0)]``,
    each term only where that bound is set: one-sided, as CLIPig documents it (its code
    penalised any deviation).
    """

    K = 100.0

    @classmethod
    def check(cls, values):
        if values.get("above") is None and values.get("below") is None:
            return [(None, f"'{cls.legacy_name}' needs 'above' and/or 'below'")]
        return []

    @staticmethod
    def measure(x, p):
        raise NotImplementedError

    @classmethod
    def loss(cls, x, p, ell):
        import torch

        from clipig_nodes.engine import imaging

        v = cls.measure(x, p)                                   # [B, 3]
        total = None
        above = imaging.optional_tensor(p, "above")
        if above is not None:
            short = torch.relu(above.to(v.dtype) - v)
            total = ell(short, torch.zeros_like(short))
        below = imaging.optional_tensor(p, "below")
        if below is not None:
            excess = torch.relu(v - below.to(v.dtype))
            term = ell(excess, torch.zeros_like(excess))
            total = term if total is None else total + term
        if total is None:       # validation refuses this; keep the engine total defined
            return v.new_zeros(v.shape[0])
        return cls.K * total


class MeanConstraint(AboveBelow):
    """Keeps the per-channel mean within bounds (factor 100)."""

    name = "mean_constraint"
    params = (ABOVE, BELOW)

    @staticmethod
    def measure(x, p):
        return x.mean(dim=(2, 3))


class StdConstraint(AboveBelow):
    """Keeps the per-channel standard deviation within bounds (factor 100)."""

    name = "std_constraint"
    params = (ABOVE, BELOW)

    @staticmethod
    def measure(x, p):
        return x.flatten(2).std(dim=2)          # unbiased (N - 1), as CLIPig


class SaturationConstraint(AboveBelow):
    """Keeps the saturation (mean distance of each channel from gray) within bounds (factor 100)."""

    name = "saturation_constraint"
    params = (ABOVE, BELOW)

    @staticmethod
    def measure(x, p):
        gray = x.mean(dim=1, keepdim=True)
        return (x - gray).abs().mean(dim=(2, 3))


class ContrastConstraint(AboveBelow):
    """Keeps the contrast (mean above minus mean below the channel mean) within bounds (factor 1).

    Per channel: the mean of the pixels strictly above the channel mean minus the mean of
    those strictly below it. An empty side (a flat channel) counts as the mean of the three
    channel means. The factor is 1, not 100, as in CLIPig.
    """

    name = "contrast_constraint"
    params = (ABOVE, BELOW)
    K = 1.0

    @staticmethod
    def measure(x, p):
        import torch

        mean = x.mean(dim=(2, 3), keepdim=True)                 # [B, 3, 1, 1]
        fallback = mean.mean(dim=1).flatten(1)                  # [B, 1]

        def side_mean(mask):
            count = mask.sum(dim=(2, 3))
            total = torch.where(mask, x, torch.zeros_like(x)).sum(dim=(2, 3))
            return torch.where(count > 0, total / count.clamp_min(1), fallback)

        return side_mean(x > mean) - side_mean(x < mean)


class EdgeMeanConstraint(AboveBelow):
    """Keeps the mean edge strength |blur(x) - x| within bounds (factor 100)."""

    name = "edge_mean_constraint"
    params = (ABOVE, BELOW, KERNEL, SIGMA)

    @staticmethod
    def measure(x, p):
        return (_blur(x, p) - x).abs().mean(dim=(2, 3))


class BlurConstraint(Constraint):
    """Penalises the difference to a blurred copy: 100 * loss(x, blur(x)). Makes images smoother.

    The blurred copy is not detached (as in CLIPig): the gradient flows through both sides.
    """

    name = "blur_constraint"
    params = (KERNEL, SIGMA)

    @staticmethod
    def loss(x, p, ell):
        return 100.0 * ell(x, _blur(x, p))


class BorderConstraint(Constraint):
    """Pulls a border of the given size toward a color: 100 * loss(x, x with border painted)."""

    name = "border_constraint"
    params = (
        Vector("size", 2, [1, 1], "Border width [x, y] in pixels.", groups=TRLC, item="int",
               minimum=0, maximum=MAX_SIDE),
        Vector("color", 3, [0.0, 0.0, 0.0], "Border color [r, g, b].", groups=TRLC),
    )

    @staticmethod
    def loss(x, p, ell):
        """Rows: min(size_y, H) at top and bottom; columns: min(size_x, W) left and right.
        A size of 0 paints nothing (CLIPig crashed on it)."""
        from clipig_nodes.engine import imaging

        size = imaging.host_value(p, "size")
        painted = imaging.paint_border(x, size, p.tensor("color").to(x.dtype))
        return 100.0 * ell(x, painted)


class NormalizeConstraint(Constraint):
    """Pulls each channel toward spanning [min, max]: 10 * loss(x, normalized x).

    Per sample and channel: n = (x - min_c(x)) / (max_c(x) - min_c(x)) (a range of 0
    counts as 1), normalized x = min + n * (max - min). The normalized copy is a fixed
    target (detached), so every pixel moves toward its stretched value. CLIPig let the
    gradient flow through it as well; then the loss is met by moving only the darkest
    and brightest pixel of each channel, and the image itself is not normalized.
    """

    name = "normalize_constraint"
    params = (
        Vector("min", 3, [0.0, 0.0, 0.0], "Lowest value per channel.", groups=TRLC),
        Vector("max", 3, [1.0, 1.0, 1.0], "Highest value per channel.", groups=TRLC),
    )

    @staticmethod
    def loss(x, p, ell):
        import torch

        low = x.amin(dim=(2, 3), keepdim=True)
        high = x.amax(dim=(2, 3), keepdim=True)
        span = high - low
        span = torch.where(span == 0, torch.ones_like(span), span)
        lo = _channels(p.tensor("min").to(x.dtype))
        hi = _channels(p.tensor("max").to(x.dtype))
        normalized = lo + (x - low) / span * (hi - lo)
        return 10.0 * ell(x, normalized.detach())


class NoiseConstraint(Constraint):
    """Compares with a noisy copy: 100 * loss(x, x + std * N(0, 1)).

    The image cancels out of this loss, so it has no gradient: it only adds a
    random constant to the reported loss (as in CLIPig).
    """

    name = "noise_constraint"
    params = (Vector("std", 3, None, "Noise std per channel [r, g, b].", groups=TRLC, required=True),)

    @staticmethod
    def loss(x, p, ell):
        """100 * ell(x, x + std * N(0, 1)), noise from the run's generator. x cancels out of
        the difference, so the gradient is exactly zero (kept as in CLIPig)."""
        std = _channels(p.tensor("std").to(x.dtype))
        noise = p.randn(*x.shape).to(x.dtype)
        return 100.0 * ell(x, x + std * noise)
