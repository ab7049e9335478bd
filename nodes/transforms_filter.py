"""Transforms that filter or paint the image."""

from clipig_nodes.nodebase import Transform
from clipig_nodes.limits import MAX_KERNEL, MAX_SIDE
from clipig_nodes.registry import TRL, Vector

KERNEL = Vector("kernel_size", 2, [3, 3], "Gaussian kernel size [x, y]; even sizes grow to the "
                                          "next odd one.", groups=TRL, item="int", minimum=0,
                maximum=MAX_KERNEL)
SIGMA = Vector("sigma", 2, None, "Gaussian sigma [x, y]; unset: 0.3 * ((k - 1) / 2 - 1) + 0.8.",
               groups=TRL, minimum=0)


class Blur(Transform):
    """Gaussian blur.

    As torchvision's gaussian_blur: reflect padding at the edges, even kernel sizes grow to
    the next odd one (minimum 1), sigma is at least 1e-4. A sigma expression that draws
    random numbers gives every sample its own sigma.
    """

    name = "blur"
    params = (KERNEL, SIGMA)

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        return imaging.gaussian_blur(x, imaging.host_value(p, "kernel_size"),
                                     imaging.optional_tensor(p, "sigma"))


class Border(Transform):
    """Paints a border of the given size and color around the image.

    The top and bottom min(size_y, height) rows and the left and right min(size_x, width)
    columns take the color; a size of 0 paints nothing on that axis.
    """

    name = "border"
    params = (
        Vector("size", 2, [1, 1], "Border width [x, y] in pixels.", groups=TRL, item="int", minimum=0,
               maximum=MAX_SIDE),
        Vector("color", 3, [0.0, 0.0, 0.0], "Border color [r, g, b].", groups=TRL),
    )

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        return imaging.paint_border(x, imaging.host_value(p, "size"), p.tensor("color"))


class Edge(Transform):
    """Edge detection: (x - blur(x)) * amount, clamped to [0, 1].

    The blur is the one of the blur transform (even kernel sizes grow to the next odd one).
    """

    name = "edge"
    params = (
        KERNEL, SIGMA,
        Vector("amount", 3, [1.0, 1.0, 1.0], "Per-channel multiplier of the edges.", groups=TRL),
    )

    @staticmethod
    def apply(x, p):
        from clipig_nodes.engine import imaging

        blurred = imaging.gaussian_blur(x, imaging.host_value(p, "kernel_size"),
                                        imaging.optional_tensor(p, "sigma"))
        return ((x - blurred) * p.tensor("amount")[:, :, None, None]).clamp(0.0, 1.0)
