"""Transforms that add random noise (a new draw for every sample and epoch)."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.limits import MAX_SIDE
from clipig_nodes.registry import TRL, Float, Vector


class Noise(Transform):
    """Adds gaussian noise with a per-channel standard deviation."""

    name = "noise"
    legacy_value = "std"
    random = True
    params = (Vector("std", 3, None, "Noise std per channel [r, g, b].", groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        B, C, H, W = x.shape
        return x + p.randn(B, C, H, W) * p.tensor("std")[:, :, None, None]


class BWNoise(Transform):
    """Adds the same gaussian noise to all three channels (black and white noise)."""

    name = "bwnoise"
    legacy_value = "std"
    random = True
    params = (Float("std", None, "Noise std.", groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        B, C, H, W = x.shape
        return x + p.randn(B, 1, H, W) * p.tensor("std")[:, None, None, None]


class RNoise(Transform):
    """Adds low-resolution gaussian noise, upscaled (bilinear) to the image size.

    A normal field of 3 x height x width per sample is resized to the image size (bilinear,
    align_corners off), multiplied by the std of each channel and added.
    """

    name = "rnoise"
    random = True
    params = (
        Vector("std", 3, None, "Noise std per channel [r, g, b].", groups=TRL, required=True),
        Vector("resolution", 2, None, "Size of the noise [width, height] before upscaling.",
               groups=TRL, item="int", required=True, minimum=1, maximum=MAX_SIDE),
    )

    @staticmethod
    def apply(x, p):
        import torch.nn.functional as F
        from clipig_nodes.engine import imaging

        B, C, H, W = x.shape
        w, h = (max(int(v), 1) for v in imaging.host_value(p, "resolution"))
        field = p.randn(B, C, h, w)
        if (h, w) != (H, W):
            field = F.interpolate(field, size=(H, W), mode="bilinear", align_corners=False)
        return x + field * p.tensor("std")[:, :, None, None]


class FNoise(Transform):
    """Adds gaussian noise in the frequency domain (to each channel's flattened spectrum).

    Each channel is flattened to one row (row-major), transformed with a real FFT, gets
    N(0, 1) * 15 * std added to the real and the imaginary part of every frequency, and is
    transformed back to its H * W values (odd sizes work too).
    """

    name = "fnoise"
    legacy_value = "std"
    random = True
    params = (Vector("std", 3, None, "Noise std per channel [r, g, b].", groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        import torch
        from clipig_nodes.engine import imaging

        B, C, H, W = x.shape
        n = H * W
        with imaging.no_autocast(x):
            spectrum = torch.fft.rfft(x.float().reshape(B, C, n), dim=-1)
            noise = torch.view_as_complex(p.randn(B, C, n // 2 + 1, 2))
            spectrum = spectrum + noise * (15.0 * p.tensor("std"))[:, :, None]
            return torch.fft.irfft(spectrum, n=n, dim=-1).reshape(B, C, H, W)
