"""Transforms that change the resolution (not allowed in post-processing)."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.registry import TRL, Enum, Vector

SIZE = dict(groups=TRL, item="int", required=True, minimum=1, maximum=16384)


class Resize(Transform):
    """Resizes (bilinear) to [width, height]."""

    name = "resize"
    legacy_value = "size"
    changes_resolution = True
    params = (Vector("size", 2, None, "New size [width, height].", **SIZE),)


class CenterCrop(Transform):
    """Cuts [width, height] out of the center; pads with black when larger than the image."""

    name = "center_crop"
    legacy_value = "size"
    changes_resolution = True
    params = (Vector("size", 2, None, "Crop size [width, height].", **SIZE),)


class RandomCrop(Transform):
    """Cuts [width, height] out of a random position (a new draw for every sample)."""

    name = "random_crop"
    legacy_value = "size"
    changes_resolution = True
    random = True
    params = (Vector("size", 2, None, "Crop size [width, height].", **SIZE),)


class Crop(Transform):
    """Cuts out [x, y, width, height]; values below 1 are fractions of the size, others pixels.

    Areas outside the image are black. Note that 1 means one pixel, not 100%.
    """

    name = "crop"
    legacy_value = "rect"
    changes_resolution = True
    params = (Vector("rect", 4, None, "[x, y, width, height].", groups=TRL, required=True),)


class Repeat(Transform):
    """Tiles the image [x, y] times."""

    name = "repeat"
    legacy_value = "count"
    changes_resolution = True
    params = (Vector("count", 2, None, "Tiles [across, down].", groups=TRL, item="int",
                     required=True, minimum=1, maximum=64),)


class Pad(Transform):
    """Adds [x, y] pixels on each side: filled with a color, the edge pixels, or wrapped around."""

    name = "pad"
    changes_resolution = True
    params = (
        Vector("size", 2, None, "Pixels added [x, y] on each side.", groups=TRL, item="int",
               required=True, minimum=0, maximum=16384),
        Vector("color", 3, [0.0, 0.0, 0.0], "Fill color [r, g, b] for mode fill.", groups=TRL),
        Enum("mode", ("fill", "edge", "wrap"), "fill",
             "fill: color; edge: repeat the edge pixels; wrap: copy from the opposite side."),
    )
