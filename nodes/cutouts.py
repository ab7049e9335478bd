"""Cutouts: many random-size square crops per image, as pixray and VQGAN+CLIP take them."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.registry import Float, Int


class Cutouts(Transform):
    """Makes `count` views per image from random-size square crops, resized to `size`.

    Each crop's side is a fraction of the image's shorter side, drawn between min_size
    and max_size as min + (max - min) * u^cut_pow (cut_pow > 1 favours small crops), at a
    uniformly random place. Per view, optionally: a random perspective, a horizontal
    flip, colour jitter (brightness, contrast, saturation) and Gaussian noise. All views
    are made at once on the device (one sampling grid for the whole batch), so the batch
    grows from B to B x count, image by image.
    """

    name = "cutouts"
    legacy_name = None          # CLIPig has no such transform
    random = True
    changes_resolution = True
    params = (
        Int("count", 16, "Views per image.", minimum=1, maximum=4096),
        Int("size", 224, "Side of each view in pixels (the CLIP model's input size).",
            minimum=1, maximum=4096),
        Float("min_size", 0.25, "Smallest crop side, as a fraction of the shorter image side.",
              minimum=0.0, maximum=1.0, exclusive_minimum=True),
        Float("max_size", 1.0, "Largest crop side, as a fraction of the shorter image side.",
              minimum=0.0, maximum=1.0, exclusive_minimum=True),
        Float("cut_pow", 1.0, "Bias of the crop size: > 1 favours small crops, < 1 large ones.",
              minimum=0.0, exclusive_minimum=True, maximum=100.0),
        Float("perspective", 0.0, "Strength of a random perspective distortion (0 = none, "
                                  "0.2 = strong).", minimum=0.0, maximum=1.0),
        Float("flip", 0.5, "Probability of a horizontal flip.", minimum=0.0, maximum=1.0),
        Float("jitter", 0.0, "Colour jitter: brightness, contrast and saturation factors drawn "
                             "in 1 +- jitter.", minimum=0.0, maximum=1.0),
        Float("noise", 0.0, "Standard deviation of Gaussian noise added to each view.",
              minimum=0.0, maximum=10.0),
    )

    @classmethod
    def check(cls, values):
        low, high = values.get("min_size"), values.get("max_size")
        if isinstance(low, float) and isinstance(high, float) and low > high:
            return [("min_size", f"min_size {low} is larger than max_size {high}")]
        return []

    @staticmethod
    def apply(x, p):
        """x [B,3,H,W] -> [B*count,3,size,size]; views of image i are i*count ... i*count+count-1."""
        import torch
        import torch.nn.functional as F

        n, size = int(p.value("count")), int(p.value("size"))
        b, _, h, w = x.shape
        views = b * n
        low, high = float(p.value("min_size")), float(p.value("max_size"))
        short = min(h, w)
        # crop side in pixels, then its place: as fractions of the image's extent
        side = short * (low + (high - low) * p.rand(views) ** float(p.value("cut_pow")))
        half_x, half_y = side / w, side / h                 # half extents in [-1, 1] units
        center_x = (1 - half_x) * (2 * p.rand(views) - 1)
        center_y = (1 - half_y) * (2 * p.rand(views) - 1)
        flip = p.rand(views) < float(p.value("flip"))
        sign_x = 1 - 2 * flip.to(x.dtype)

        # the output pixel grid in [-1, 1], one for every view
        ticks = (torch.arange(size, device=x.device, dtype=x.dtype) + 0.5) / size * 2 - 1
        # supersample large crops (a box filter) so that shrinking them does not alias: with
        # bilinear taps at most 2 source pixels apart, every source pixel is read
        factor = max(1, min(4, int(high * short / size)))
        if factor > 1:
            ticks = (torch.arange(size * factor, device=x.device, dtype=x.dtype) + 0.5) \
                / (size * factor) * 2 - 1
        u = ticks[None, None, :].expand(views, ticks.numel(), ticks.numel())
        v = ticks[None, :, None].expand(views, ticks.numel(), ticks.numel())
        strength = float(p.value("perspective"))
        if strength > 0:
            # a homography that keeps the centre: u / (1 + g u + k v), v / (...)
            g = strength * (2 * p.rand(views) - 1)
            k = strength * (2 * p.rand(views) - 1)
            denominator = 1 + g[:, None, None] * u + k[:, None, None] * v
            u, v = u / denominator, v / denominator
        grid_x = center_x[:, None, None] + half_x[:, None, None] * sign_x[:, None, None] * u
        grid_y = center_y[:, None, None] + half_y[:, None, None] * v
        grid = torch.stack((grid_x, grid_y), dim=-1)
        source = x.repeat_interleave(n, dim=0) if n > 1 else x
        out = F.grid_sample(source, grid, mode="bilinear", padding_mode="reflection",
                            align_corners=False)
        if factor > 1:
            out = F.avg_pool2d(out, factor)

        amount = float(p.value("jitter"))
        if amount > 0:
            def draw():
                return (1 + amount * (2 * p.rand(views) - 1))[:, None, None, None]
            out = out * draw()                                           # brightness
            mean = out.mean(dim=(1, 2, 3), keepdim=True)
            out = (out - mean) * draw() + mean                           # contrast
            gray = 0.299 * out[:, :1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:]
            out = (out - gray) * draw() + gray                           # saturation
        sigma = float(p.value("noise"))
        if sigma > 0:
            out = out + sigma * p.randn(*out.shape)
        if amount > 0 or sigma > 0:
            out = out.clamp(0, 1)
        return out
