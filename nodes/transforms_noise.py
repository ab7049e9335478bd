"""Transforms that add random noise (a new draw for every sample and epoch)."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.registry import TRL, Float, Vector


class Noise(Transform):
    """Adds gaussian noise with a per-channel standard deviation."""

    name = "noise"
    legacy_value = "std"
    random = True
    params = (Vector("std", 3, None, "Noise std per channel [r, g, b].", groups=TRL, required=True),)


class BWNoise(Transform):
    """Adds the same gaussian noise to all three channels (black and white noise)."""

    name = "bwnoise"
    legacy_value = "std"
    random = True
    params = (Float("std", None, "Noise std.", groups=TRL, required=True),)


class RNoise(Transform):
    """Adds low-resolution gaussian noise, upscaled (bilinear) to the image size."""

    name = "rnoise"
    random = True
    params = (
        Vector("std", 3, None, "Noise std per channel [r, g, b].", groups=TRL, required=True),
        Vector("resolution", 2, None, "Size of the noise [width, height] before upscaling.",
               groups=TRL, item="int", required=True, minimum=1, maximum=16384),
    )


class FNoise(Transform):
    """Adds gaussian noise in the frequency domain (to each channel's flattened spectrum)."""

    name = "fnoise"
    legacy_value = "std"
    random = True
    params = (Vector("std", 3, None, "Noise std per channel [r, g, b].", groups=TRL, required=True),)
