"""Transforms that move pixels but keep the resolution."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.registry import TRL, Float, Vector

CENTER = Vector("center", 2, [0.5, 0.5], "Rotation center [x, y] as a fraction of the size.",
                groups=TRL)


class Rotate(Transform):
    """Rotates counter-clockwise about a center (nearest neighbour, black fill).

    The center is the pixel (int(cx * width), int(cy * height)), as in CLIPig (torchvision's
    rotate); the size stays the same.
    """

    name = "rotate"
    geometric = True
    params = (Float("degree", None, "Angle in degrees.", groups=TRL, required=True), CENTER)

    @staticmethod
    def apply(x, p):
        return rotate(x, p.tensor("degree"), p.tensor("center"))


class RandomRotate(Transform):
    """Rotates by a random angle about a random center (a new draw for every sample).

    The angle is drawn from U(min, max); cx and cy are drawn independently from the one
    center range. Then as rotate.
    """

    name = "random_rotate"
    geometric = True
    random = True
    params = (
        Vector("degree", 2, None, "Angle range [min, max] in degrees.", groups=TRL, required=True),
        Vector("center", 2, [0.5, 0.5], "Range [min, max] of the center; x and y are drawn "
                                        "independently from it.", groups=TRL),
    )

    @staticmethod
    def apply(x, p):
        import torch

        degree, center = p.tensor("degree"), p.tensor("center")
        low = torch.stack([degree[:, 0], center[:, 0], center[:, 0]], -1)
        high = torch.stack([degree[:, 1], center[:, 1], center[:, 1]], -1)
        draw = p.uniform(low, high)                               # [B, 3]: angle, cx, cy
        return rotate(x, draw[:, 0], draw[:, 1:])


class RandomScale(Transform):
    """Zooms about the center by a random factor (nearest neighbour, black fill).

    Every sample gets its own factor from U(min, max), as torchvision's RandomAffine.
    """

    name = "random_scale"
    geometric = True
    legacy_value = "range"
    random = True
    params = (Vector("range", 2, None, "Scale range [min, max]; 2 = twice as large.",
                     groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        bounds = p.tensor("range")
        scale = p.uniform(bounds[:, 0], bounds[:, 1])
        return imaging.affine_sample(x, imaging.scale_matrix(scale))


class RandomTranslate(Transform):
    """Moves by a random offset up to a fraction of the size (black fill).

    dx ~ U(-a * width, a * width) and dy ~ U(-b * height, b * height), rounded to whole
    pixels, a new draw for every sample (as torchvision's RandomAffine).
    """

    name = "random_translate"
    geometric = True
    legacy_value = "range"
    random = True
    params = (Vector("range", 2, None, "Largest offset [x, y] as a fraction of width and height.",
                     groups=TRL, required=True, minimum=0, maximum=1),)

    @staticmethod
    def apply(x, p):
        import torch
        from clipig_nodes.engine import imaging

        H, W = x.shape[-2:]
        fraction = p.tensor("range")
        limit = torch.stack([fraction[:, 0] * W, fraction[:, 1] * H], -1)
        offset = p.uniform(-limit, limit).round()                 # [B, 2]: dx, dy
        return imaging.affine_sample(x, imaging.translation_matrix(offset[:, 0], offset[:, 1]))


class Shift(Transform):
    """Rolls the image with wrap-around; values below 1 are fractions of the size, others pixels.

    A value v with |v| < 1 means v * size, any other v pixels; the result is truncated to an
    int and taken modulo the size. Content leaving one side re-enters on the other.
    """

    name = "shift"
    geometric = True
    legacy_value = "offset"
    params = (Vector("offset", 2, None, "Offset [x, y]; positive moves right and down.",
                     groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        offset = p.tensor("offset")
        return shift(x, offset[:, 0], offset[:, 1])


class RandomShift(Transform):
    """Rolls the image with wrap-around by a random offset (a new draw for every sample).

    x ~ U(xmin, xmax) and y ~ U(ymin, ymax); then as shift (whether a value is a fraction
    or pixels is decided after the draw).
    """

    name = "random_shift"
    geometric = True
    legacy_value = "range"
    random = True
    params = (Vector("range", (2, 4), None, "[min, max] for both axes, or [xmin, xmax, ymin, "
                                            "ymax]; fractions below 1, pixels above.",
                     groups=TRL, required=True),)

    @staticmethod
    def apply(x, p):
        bounds = p.tensor("range")
        if bounds.shape[-1] == 2:
            low, high = bounds[:, 0:1].expand(-1, 2), bounds[:, 1:2].expand(-1, 2)
        else:
            low, high = bounds[:, 0::2], bounds[:, 1::2]          # [xmin, ymin], [xmax, ymax]
        offset = p.uniform(low, high)
        return shift(x, offset[:, 0], offset[:, 1])


# --- helpers (they import torch when they run, never at module import) ------------------------

def rotate(x, degree, center):
    """Rotate x by degree [B] about the pixels (int(cx * W), int(cy * H)), center [B, 2]."""
    import torch
    from clipig_nodes.engine import imaging

    H, W = x.shape[-2:]
    pivot = torch.stack([(center[:, 0] * W).trunc() - W / 2,      # torchvision's centred
                         (center[:, 1] * H).trunc() - H / 2], -1)  # coordinates
    return imaging.affine_sample(x, imaging.rotation_matrix(degree, pivot))


def shift(x, dx, dy):
    """Roll x by dx, dy [B] (fractions below 1, pixels otherwise)."""
    from clipig_nodes.engine import imaging

    H, W = x.shape[-2:]
    return imaging.roll(x, imaging.wrap_offset(dx, W), imaging.wrap_offset(dy, H))
