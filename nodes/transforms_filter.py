"""Transforms that filter or paint the image."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.registry import TRL, Vector

KERNEL = Vector("kernel_size", 2, [3, 3], "Gaussian kernel size [x, y]; even sizes grow to the "
                                          "next odd one.", groups=TRL, item="int", minimum=0)
SIGMA = Vector("sigma", 2, None, "Gaussian sigma [x, y]; unset: 0.3 * ((k - 1) / 2 - 1) + 0.8.",
               groups=TRL, minimum=0)


class Blur(Transform):
    """Gaussian blur."""

    name = "blur"
    params = (KERNEL, SIGMA)


class Border(Transform):
    """Paints a border of the given size and color around the image."""

    name = "border"
    params = (
        Vector("size", 2, [1, 1], "Border width [x, y] in pixels.", groups=TRL, item="int", minimum=0),
        Vector("color", 3, [0.0, 0.0, 0.0], "Border color [r, g, b].", groups=TRL),
    )


class Edge(Transform):
    """Edge detection: (x - blur(x)) * amount, clamped to [0, 1]."""

    name = "edge"
    params = (
        KERNEL, SIGMA,
        Vector("amount", 3, [1.0, 1.0, 1.0], "Per-channel multiplier of the edges.", groups=TRL),
    )
