"""Constraints: non-CLIP losses on what CLIP sees of a target (the transformed view).

The above/below family (mean, std, saturation, contrast, edge_mean) measures one
value per channel and pulls it toward the bounds given.
"""

from clipig_nodes.nodebase import Constraint
from clipig_nodes.registry import TRLC, Vector

ABOVE = Vector("above", 3, None, "Penalise the value per channel [r, g, b] below this.", groups=TRLC)
BELOW = Vector("below", 3, None, "Penalise the value per channel [r, g, b] above this.", groups=TRLC)
KERNEL = Vector("kernel_size", 2, [3, 3], "Gaussian kernel size [x, y]; even sizes grow to the "
                                          "next odd one.", groups=TRLC, item="int", minimum=0)
SIGMA = Vector("sigma", 2, None, "Gaussian sigma [x, y]; unset: 0.3 * ((k - 1) / 2 - 1) + 0.8.",
               groups=TRLC, minimum=0)


class AboveBelow(Constraint):
    """Shared rule of the above/below family: at least one bound."""

    @classmethod
    def check(cls, values):
        if values.get("above") is None and values.get("below") is None:
            return [(None, f"'{cls.legacy_name}' needs 'above' and/or 'below'")]
        return []


class MeanConstraint(AboveBelow):
    """Keeps the per-channel mean within bounds (factor 100)."""

    name = "mean_constraint"
    params = (ABOVE, BELOW)


class StdConstraint(AboveBelow):
    """Keeps the per-channel standard deviation within bounds (factor 100)."""

    name = "std_constraint"
    params = (ABOVE, BELOW)


class SaturationConstraint(AboveBelow):
    """Keeps the saturation (mean distance of each channel from gray) within bounds (factor 100)."""

    name = "saturation_constraint"
    params = (ABOVE, BELOW)


class ContrastConstraint(AboveBelow):
    """Keeps the contrast (mean above minus mean below the channel mean) within bounds (factor 1)."""

    name = "contrast_constraint"
    params = (ABOVE, BELOW)


class EdgeMeanConstraint(AboveBelow):
    """Keeps the mean edge strength |blur(x) - x| within bounds (factor 100)."""

    name = "edge_mean_constraint"
    params = (ABOVE, BELOW, KERNEL, SIGMA)


class BlurConstraint(Constraint):
    """Penalises the difference to a blurred copy: 100 * loss(x, blur(x)). Makes images smoother."""

    name = "blur_constraint"
    params = (KERNEL, SIGMA)


class BorderConstraint(Constraint):
    """Pulls a border of the given size toward a color: 100 * loss(x, x with border painted)."""

    name = "border_constraint"
    params = (
        Vector("size", 2, [1, 1], "Border width [x, y] in pixels.", groups=TRLC, item="int", minimum=0),
        Vector("color", 3, [0.0, 0.0, 0.0], "Border color [r, g, b].", groups=TRLC),
    )


class NormalizeConstraint(Constraint):
    """Pulls each channel toward spanning [min, max]: 10 * loss(x, normalized x)."""

    name = "normalize_constraint"
    params = (
        Vector("min", 3, [0.0, 0.0, 0.0], "Lowest value per channel.", groups=TRLC),
        Vector("max", 3, [1.0, 1.0, 1.0], "Highest value per channel.", groups=TRLC),
    )


class NoiseConstraint(Constraint):
    """Compares with a noisy copy: 100 * loss(x, x + std * N(0, 1)).

    The image cancels out of this loss, so it has no gradient: it only adds a
    random constant to the reported loss (as in CLIPig).
    """

    name = "noise_constraint"
    params = (Vector("std", 3, None, "Noise std per channel [r, g, b].", groups=TRLC, required=True),)
