"""Transforms that move pixels but keep the resolution."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.registry import TRL, Float, Vector

CENTER = Vector("center", 2, [0.5, 0.5], "Rotation center [x, y] as a fraction of the size.",
                groups=TRL)


class Rotate(Transform):
    """Rotates counter-clockwise about a center (nearest neighbour, black fill)."""

    name = "rotate"
    params = (Float("degree", None, "Angle in degrees.", groups=TRL, required=True), CENTER)


class RandomRotate(Transform):
    """Rotates by a random angle about a random center (a new draw for every sample)."""

    name = "random_rotate"
    random = True
    params = (
        Vector("degree", 2, None, "Angle range [min, max] in degrees.", groups=TRL, required=True),
        Vector("center", 2, [0.5, 0.5], "Range [min, max] of the center; x and y are drawn "
                                        "independently from it.", groups=TRL),
    )


class RandomScale(Transform):
    """Zooms about the center by a random factor (nearest neighbour, black fill)."""

    name = "random_scale"
    legacy_value = "range"
    random = True
    params = (Vector("range", 2, None, "Scale range [min, max]; 2 = twice as large.",
                     groups=TRL, required=True),)


class RandomTranslate(Transform):
    """Moves by a random offset up to a fraction of the size (black fill)."""

    name = "random_translate"
    legacy_value = "range"
    random = True
    params = (Vector("range", 2, None, "Largest offset [x, y] as a fraction of width and height.",
                     groups=TRL, required=True, minimum=0, maximum=1),)


class Shift(Transform):
    """Rolls the image with wrap-around; values below 1 are fractions of the size, others pixels."""

    name = "shift"
    legacy_value = "offset"
    params = (Vector("offset", 2, None, "Offset [x, y]; positive moves right and down.",
                     groups=TRL, required=True),)


class RandomShift(Transform):
    """Rolls the image with wrap-around by a random offset (a new draw for every sample)."""

    name = "random_shift"
    legacy_value = "range"
    random = True
    params = (Vector("range", (2, 4), None, "[min, max] for both axes, or [xmin, xmax, ymin, "
                                            "ymax]; fractions below 1, pixels above.",
                     groups=TRL, required=True),)
