"""Transforms that change the resolution (not allowed in post-processing)."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.limits import MAX_PAD, MAX_REPEAT, MAX_SIDE
from clipig_nodes.registry import TRL, Enum, Vector

SIZE = dict(groups=TRL, item="int", required=True, minimum=1, maximum=MAX_SIDE)


class Resize(Transform):
    """Resizes (bilinear) to [width, height].

    Bilinear with align_corners off and without antialiasing (as the tensor resize of the
    torchvision CLIPig used); shrinking a lot can alias.
    """

    name = "resize"
    legacy_value = "size"
    changes_resolution = True
    params = (Vector("size", 2, None, "New size [width, height].", **SIZE),)

    @staticmethod
    def output_size(value, width, height):
        """(width, height) of the result, for the memory estimate; value(name) is a param."""
        return _sized(value("size"))

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        w, h = _size(p, "size")
        return imaging.resize(x, (h, w), "bilinear", antialias=False)


class CenterCrop(Transform):
    """Cuts [width, height] out of the center; pads with black when larger than the image.

    Placement as torchvision's center_crop. Note that CLIPig read the pair as [height, width].
    """

    name = "center_crop"
    geometric = True
    legacy_value = "size"
    changes_resolution = True
    params = (Vector("size", 2, None, "Crop size [width, height].", **SIZE),)

    @staticmethod
    def output_size(value, width, height):
        return _sized(value("size"))

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        H, W = x.shape[-2:]
        w, h = _size(p, "size")
        return imaging.crop_window(x, _center_start(W, w), _center_start(H, h), w, h)


class RandomCrop(Transform):
    """Cuts [width, height] out of a random position (a new draw for every sample).

    Every position inside the image is equally likely. A crop larger than the image it gets
    (the pixels' resolution after the transforms before it) stops the run with a message
    naming the node: use center_crop (which pads) or pad first. Note that CLIPig read the
    pair as [height, width].
    """

    name = "random_crop"
    geometric = True
    legacy_value = "size"
    changes_resolution = True
    random = True
    params = (Vector("size", 2, None, "Crop size [width, height].", **SIZE),)

    @staticmethod
    def output_size(value, width, height):
        return _sized(value("size"))

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging
        from clipig_nodes.engine.errors import NodeInputError

        B, _, H, W = x.shape
        w, h = _size(p, "size")
        if w > W or h > H:
            raise NodeInputError(f"the crop [{w}, {h}] (width, height) is larger than "
                             f"the image [{W}, {H}]; use center_crop or pad to make it larger")
        draw = p.rand(B, 2)
        # every start in [0, W - w] equally likely (rand * n may round up to n: clamp)
        left = (draw[:, 0] * (W - w + 1)).floor().long().clamp_max(W - w)
        top = (draw[:, 1] * (H - h + 1)).floor().long().clamp_max(H - h)
        return imaging.crop_batch(x, left, top, w, h)


class Crop(Transform):
    """Cuts out [x, y, width, height]; values below 1 are fractions of the size, others pixels.

    Areas outside the image are black. Note that 1 means one pixel, not 100%. The width
    and height must be above 0; a fraction that gives less than one pixel of the image it
    gets stops the run with a message naming the node.
    """

    name = "crop"
    geometric = True
    legacy_value = "rect"
    changes_resolution = True
    params = (Vector("rect", 4, None, "[x, y, width, height].", groups=TRL, required=True,
                     minimum=-MAX_SIDE, maximum=MAX_SIDE),)

    @classmethod
    def check(cls, values):
        rect = values.get("rect")
        if isinstance(rect, list) and len(rect) == 4:
            for name, value in (("width", rect[2]), ("height", rect[3])):
                if isinstance(value, (int, float)) and value <= 0:
                    return [("rect", f"the {name} is {value:g}: it must be above 0 "
                                     "(a fraction below 1 of the size, or pixels)")]
        return []

    @staticmethod
    def output_size(value, width, height):
        rect = value("rect")
        return (_fraction_or_pixels(rect[2], width), _fraction_or_pixels(rect[3], height))

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging
        from clipig_nodes.engine.errors import NodeInputError

        H, W = x.shape[-2:]
        rect = imaging.host_value(p, "rect")
        left, width = (imaging.fraction_or_pixels(v, W) for v in (rect[0], rect[2]))
        top, height = (imaging.fraction_or_pixels(v, H) for v in (rect[1], rect[3]))
        if width < 1 or height < 1:
            raise NodeInputError(f"the rect {rect} gives an empty image ({width} x {height} "
                             f"pixels of {W} x {H}); values below 1 are fractions of the size")
        return imaging.crop_window(x, left, top, width, height)


class Repeat(Transform):
    """Tiles the image [x, y] times.

    The result is x times as wide and y times as high.
    """

    name = "repeat"
    legacy_value = "count"
    changes_resolution = True
    params = (Vector("count", 2, None, "Tiles [across, down].", groups=TRL, item="int",
                     required=True, minimum=1, maximum=MAX_REPEAT),)

    @staticmethod
    def output_size(value, width, height):
        cx, cy = _sized(value("count"))
        return width * cx, height * cy

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        cx, cy = (max(int(v), 1) for v in imaging.host_value(p, "count"))
        return x.repeat(1, 1, cy, cx) if (cx, cy) != (1, 1) else x


class Pad(Transform):
    """Adds [x, y] pixels on each side: filled with a color, the edge pixels, or wrapped around.

    The result is 2 * x wider and 2 * y higher. Wrap works for any size, also one larger
    than the image (it keeps repeating the image).
    """

    name = "pad"
    changes_resolution = True
    params = (
        Vector("size", 2, None, "Pixels added [x, y] on each side.", groups=TRL, item="int",
               required=True, minimum=0, maximum=MAX_PAD),
        Vector("color", 3, [0.0, 0.0, 0.0], "Fill color [r, g, b] for mode fill.", groups=TRL),
        Enum("mode", ("fill", "edge", "wrap"), "fill",
             "fill: color; edge: repeat the edge pixels; wrap: copy from the opposite side."),
    )

    @staticmethod
    def output_size(value, width, height):
        sx, sy = (max(int(v), 0) for v in value("size"))
        return width + 2 * sx, height + 2 * sy

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        sx, sy = imaging.host_value(p, "size")
        return imaging.pad(x, sx, sy, p.value("mode"), p.tensor("color"))


# --- helpers ----------------------------------------------------------------------------------

def _size(p, name):
    """A [width, height] param as two ints of at least 1."""
    from clipig_nodes.engine import imaging

    w, h = imaging.host_value(p, name)
    return max(int(w), 1), max(int(h), 1)


def _sized(pair):
    """A [width, height] value as two ints of at least 1 (no torch: for output_size)."""
    return tuple(max(int(v), 1) for v in pair)


def _fraction_or_pixels(value, size):
    """CLIPig's crop rule (as engine.imaging.fraction_or_pixels, without torch)."""
    return int(value * size) if value < 1 else int(value)


def _center_start(size, crop):
    """torchvision's center_crop placement on one axis (negative: padded on that side)."""
    if crop > size:
        return -((crop - size) // 2)
    return int(round((size - crop) / 2.0))
