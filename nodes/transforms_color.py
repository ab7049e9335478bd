"""Transforms that change pixel values, not positions."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.limits import MAX_QUANTIZE_STEP
from clipig_nodes.registry import TRL, Float, Vector


class Add(Transform):
    """Adds a value to each channel: x + c."""

    name = "add"
    legacy_value = "value"
    params = (Vector("value", 3, None, "Per-channel offset [r, g, b].", groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        return x + p.tensor("value")[:, :, None, None]


class Mul(Transform):
    """Multiplies each channel: x * c."""

    name = "mul"
    legacy_value = "factor"
    params = (Vector("factor", 3, None, "Per-channel factor [r, g, b].", groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        return x * p.tensor("factor")[:, :, None, None]


class Mean(Transform):
    """Shifts each channel so that its mean becomes the given value.

    x + (m - mean_c(x)), with the mean over the pixels of each sample.
    """

    name = "mean"
    legacy_value = "mean"
    params = (Vector("mean", 3, None, "Target mean per channel [r, g, b].", groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        shift = p.tensor("mean") - x.mean(dim=(2, 3))
        return x + shift[:, :, None, None]


class Clamp(Transform):
    """Clamps all values to [low, high].

    Where low > high, every value becomes high (torch.clamp).
    """

    name = "clamp"
    legacy_value = "range"
    params = (Vector("range", 2, None, "[low, high].", groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        import torch

        bounds = p.tensor("range")[:, :, None, None, None]
        return torch.clamp(x, bounds[:, 0], bounds[:, 1])


class Quantize(Transform):
    """Rounds values down to multiples of a step: floor(x / step) * step.

    Its gradient is zero, so it is meant for post-processing.
    """

    name = "quantize"
    legacy_value = "step"
    params = (Vector("step", 3, None, "Step per channel [r, g, b].", groups=TRL, required=True,
                     minimum=0, exclusive_minimum=True, maximum=MAX_QUANTIZE_STEP),)

    @staticmethod
    def apply(x, p):
        step = p.tensor("step")[:, :, None, None]
        return (x / step).floor() * step


class Saturation(Transform):
    """Blends with the grayscale image: 0 = gray, 1 = unchanged, > 1 = more saturated.

    As torchvision's adjust_saturation: factor * x + (1 - factor) * gray with
    gray = 0.2989 R + 0.587 G + 0.114 B, clamped to [0, 1]. A negative factor (from an
    expression) counts as 0.
    """

    name = "saturation"
    legacy_value = "factor"
    params = (Float("factor", 1.0, "Saturation factor (>= 0).", groups=TRL, minimum=0),)

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        factor = p.tensor("factor").clamp_min(0)[:, None, None, None]
        return imaging.blend(x, imaging.grayscale(x), factor)


class Contrast(Transform):
    """Blends with the mean gray level: 0 = flat gray, 1 = unchanged, > 1 = more contrast.

    As torchvision's adjust_contrast: factor * x + (1 - factor) * m, with m the mean of the
    grayscale image (per sample), clamped to [0, 1]. A negative factor counts as 0.
    """

    name = "contrast"
    legacy_value = "factor"
    params = (Float("factor", 1.0, "Contrast factor (>= 0).", groups=TRL, minimum=0),)

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        factor = p.tensor("factor").clamp_min(0)[:, None, None, None]
        return imaging.blend(x, imaging.grayscale(x).mean(dim=(1, 2, 3), keepdim=True), factor)

