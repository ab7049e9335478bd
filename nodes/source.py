"""The pixel source: the RGB image that training changes."""

from clipig_nodes.limits import MAX_SIDE
from clipig_nodes.nodebase import Source
from clipig_nodes.registry import T, Enum, FilePath, Vector


class Pixels(Source):
    """The trained image: plain RGB pixels, initialised from noise or an image.

    Its output feeds the transform chains of the targets (what CLIP sees) and the
    post-processing chain (edits applied to the pixels each epoch). The resolution
    may be an expression of time; when its value changes the image is resampled
    with `interpolation` and the optimizer starts afresh.
    """

    name = "pixels"
    params = (
        Vector("resolution", 2, [224, 224], "Image size [width, height]; may change over time.",
               groups={T}, item="int", minimum=1, maximum=MAX_SIDE),
        Enum("interpolation", ("nearest", "linear", "cubic"), "cubic",
             "How the image is resampled when the resolution changes.",
             aliases={"bilinear": "linear", "bicubic": "cubic"}),
        Vector("init_mean", 3, [0.5, 0.5, 0.5], "Per-channel offset of the initial noise or image."),
        Vector("init_std", 3, [0.1, 0.1, 0.1], "Per-channel factor of the initial noise or image."),
        FilePath("init_image", None, "Start from this image (scaled by init_std, offset by "
                                     "init_mean: use mean 0, std 1 to keep it as it is)."),
        Vector("init_resolution", 2, None, "Make the initial noise or image at this size "
                                           "[width, height], then resize it to the resolution.",
               item="int", minimum=1, maximum=MAX_SIDE),
    )

    # --- the source contract (see clipig_nodes/nodebase.py) -----------------------------------

    @staticmethod
    def init(p, generator, base_dir=None):
        from clipig_nodes.engine.pixels import initial_pixels
        pixels = initial_pixels(p.value("resolution"), p.value("init_mean"), p.value("init_std"),
                                p.value("init_image"), p.value("init_resolution"), generator,
                                base_dir)
        return {"pixels": pixels.float().contiguous()}

    @staticmethod
    def init_size(p):
        return p.value("init_resolution")

    @staticmethod
    def render(state, p):
        return state["pixels"]

    @staticmethod
    def resample(state, size, p):
        from clipig_nodes.engine.pixels import resample
        return {"pixels": resample(state["pixels"].detach(), size, p.value("interpolation"))}

    @staticmethod
    def write(state, image, p):
        state["pixels"].copy_(image)
