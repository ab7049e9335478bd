"""Transforms that change pixel values, not positions."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.registry import TRL, Float, Vector


class Add(Transform):
    """Adds a value to each channel: x + c."""

    name = "add"
    legacy_value = "value"
    params = (Vector("value", 3, None, "Per-channel offset [r, g, b].", groups=TRL, required=True),)


class Mul(Transform):
    """Multiplies each channel: x * c."""

    name = "mul"
    legacy_value = "factor"
    params = (Vector("factor", 3, None, "Per-channel factor [r, g, b].", groups=TRL, required=True),)


class Mean(Transform):
    """Shifts each channel so that its mean becomes the given value."""

    name = "mean"
    legacy_value = "mean"
    params = (Vector("mean", 3, None, "Target mean per channel [r, g, b].", groups=TRL, required=True),)


class Clamp(Transform):
    """Clamps all values to [low, high]."""

    name = "clamp"
    legacy_value = "range"
    params = (Vector("range", 2, None, "[low, high].", groups=TRL, required=True),)


class Quantize(Transform):
    """Rounds values down to multiples of a step: floor(x / step) * step.

    Its gradient is zero, so it is meant for post-processing.
    """

    name = "quantize"
    legacy_value = "step"
    params = (Vector("step", 3, None, "Step per channel [r, g, b].", groups=TRL, required=True,
                     minimum=0, exclusive_minimum=True),)


class Saturation(Transform):
    """Blends with the grayscale image: 0 = gray, 1 = unchanged, > 1 = more saturated."""

    name = "saturation"
    legacy_value = "factor"
    params = (Float("factor", 1.0, "Saturation factor (>= 0).", groups=TRL, minimum=0),)


class Contrast(Transform):
    """Blends with the mean gray level: 0 = flat gray, 1 = unchanged, > 1 = more contrast."""

    name = "contrast"
    legacy_value = "factor"
    params = (Float("factor", 1.0, "Contrast factor (>= 0).", groups=TRL, minimum=0),)
