"""Pixel sources other than plain pixels: a Fourier spectrum and a resolution pyramid.

Both keep their trainable state in tensors other than the image itself and render
the image from it (differentiably), as lucid/lucent and aphantasia do. Each obeys
the source contract: init, render, resample, write, lr_factors.

torch is imported inside the functions, so the catalog and validation stay light.
"""

from clipig_nodes.nodebase import Source
from clipig_nodes.limits import MAX_SIDE
from clipig_nodes.registry import T, Bool, Enum, FilePath, Float, Int, Vector

# lucid's square root of ImageNet's colour correlation matrix (its SVD factors), columns
# scaled so the largest has unit norm: the trained signal is decorrelated colour
COLOR_CORRELATION_SQRT = ((0.26, 0.09, 0.02),
                          (0.27, 0.00, -0.05),
                          (0.27, -0.09, 0.03))
SIGMOID_EPS = 1e-3          # images are inverted through logit(clamp(x, eps, 1 - eps))
FOURIER_MAGIC = 4.0         # lucid divides the inverse FFT by 4 to keep early values small

RESOLUTION = Vector("resolution", 2, [224, 224], "Image size [width, height]; may change over "
                    "time (the image is resampled and kept).", groups={T}, item="int",
                    minimum=1, maximum=MAX_SIDE)
INTERPOLATION = Enum("interpolation", ("nearest", "linear", "cubic"), "cubic",
                     "How the image is resampled when the resolution changes.",
                     aliases={"bilinear": "linear", "bicubic": "cubic"})
INIT_IMAGE = FilePath("init_image", None, "Start from this image (the first render equals it).")


def _where(p) -> str:
    stage = getattr(p, "stage", None)
    return getattr(stage, "id", None) or "source"


def _load_init_image(p, name, size, base_dir):
    """The init image as [1,3,H,W] in [0,1], covering `size` [w, h]; None when unset."""
    from pathlib import Path

    from clipig_nodes.engine.errors import EngineError
    from clipig_nodes.engine.images import load_rgb
    from clipig_nodes.engine.pixels import cover_resize

    value = p.value(name)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise EngineError(f"{_where(p)}.{name}: file not found: {path}")
    return cover_resize(load_rgb(path), tuple(size))[None].float()


def _resize(x, size, interpolation):
    from clipig_nodes.engine.pixels import resample
    return resample(x, tuple(size), interpolation)


# --- Fourier ---------------------------------------------------------------------------------

_color_matrices: dict = {}     # device -> the matrix: made once, so a captured step holds no host data


def _color_matrix(device):
    import torch
    key = str(device)
    if key not in _color_matrices:
        m = torch.tensor(COLOR_CORRELATION_SQRT, dtype=torch.float32, device=device)
        _color_matrices[key] = m / m.norm(dim=0).max()
    return _color_matrices[key]


def _spectrum_scale(h, w, decay, device):
    """1 / frequency^decay for the rfft2 grid [H, W//2+1] (the lowest frequency stands in
    for 0, so the mean gets the largest factor instead of infinity)."""
    import torch
    fy = torch.fft.fftfreq(h, device=device)[:, None]
    fx = torch.fft.rfftfreq(w, device=device)[None, :]
    freqs = (fx * fx + fy * fy).sqrt()
    return 1.0 / freqs.clamp(min=1.0 / max(w, h)) ** decay


def _width_marker(w, device=None):
    """An empty [w, 0] tensor: the state is tensors only, and the image width cannot be
    read from the spectrum (W//2+1 columns for both W = 2n-2 and 2n-1)."""
    import torch
    return torch.zeros((w, 0), device=device)


def _fourier_render_signal(state, decay, decorrelate):
    """{"spectrum": [1,3,H,W//2+1,2], "width": [W,0]} -> the image before its [0,1]
    mapping, [1,3,H,W]."""
    import torch
    spectrum = state["spectrum"]
    h = spectrum.shape[2]
    w = int(state["width"].shape[0])
    scale = _spectrum_scale(h, w, decay, spectrum.device)[None, None, :, :, None]
    image = torch.fft.irfft2(torch.view_as_complex((spectrum * scale).contiguous()), s=(h, w),
                             norm="ortho") / FOURIER_MAGIC
    if decorrelate:
        image = torch.einsum("ck,bkhw->bchw", _color_matrix(spectrum.device), image)
    return image


def _fourier_state_from_signal(signal, decay, decorrelate):
    import torch
    signal = signal.float()
    _, _, h, w = signal.shape
    if decorrelate:
        inverse = torch.linalg.inv(_color_matrix(signal.device))
        signal = torch.einsum("ck,bkhw->bchw", inverse, signal)
    spectrum = torch.fft.rfft2(signal * FOURIER_MAGIC, norm="ortho")
    spectrum = spectrum / _spectrum_scale(h, w, decay, signal.device)[None, None]
    return {"spectrum": torch.view_as_real(spectrum).contiguous(), "width": _width_marker(w, signal.device)}


def _to_unit(signal, activation):
    import torch
    return torch.sigmoid(signal) if activation == "sigmoid" else signal + 0.5


def _from_unit(image, activation):
    import torch
    if activation == "sigmoid":
        return torch.logit(image.float().clamp(SIGMOID_EPS, 1 - SIGMOID_EPS))
    return image.float() - 0.5


class FourierPixels(Source):
    """The image as a 2-D Fourier spectrum with decorrelated colour (lucid/lucent style).

    The trained values are the coefficients of a real 2-D FFT, each multiplied by
    1 / frequency^decay, so gradient steps change coarse structure first and high
    frequencies (grids, noise) are damped. The colours pass through the square root of
    ImageNet's colour correlation, then a sigmoid (or a clamp) maps them to [0, 1]. An
    init image is inverted into the spectrum, so the first render equals it.
    """

    name = "fourier_pixels"
    params = (
        RESOLUTION,
        Float("decay", 1.0, "Spectrum scaling 1 / frequency^decay: higher is smoother.",
              minimum=0.0, maximum=4.0),
        Bool("decorrelate", True, "Train decorrelated colour (ImageNet colour correlation).",
             ),
        Enum("activation", ("sigmoid", "clamp"), "sigmoid",
             "How the signal is mapped to [0, 1]: sigmoid, or + 0.5 and clamped."),
        Float("init_noise", 0.01, "Standard deviation of the initial spectrum.", minimum=0.0),
        INIT_IMAGE,
        INTERPOLATION,
    )

    @staticmethod
    def init(p, generator, base_dir=None):
        import torch
        w, h = p.value("resolution")
        decay, decorrelate = float(p.value("decay")), bool(p.value("decorrelate"))
        image = _load_init_image(p, "init_image", (w, h), base_dir)
        if image is not None:
            return _fourier_state_from_signal(_from_unit(image, p.value("activation")), decay,
                                              decorrelate)
        spectrum = torch.randn((1, 3, h, w // 2 + 1, 2), generator=generator)
        return {"spectrum": spectrum * float(p.value("init_noise")), "width": _width_marker(w)}

    @staticmethod
    def render(state, p):
        signal = _fourier_render_signal(state, float(p.value("decay")),
                                        bool(p.value("decorrelate")))
        return _to_unit(signal, p.value("activation"))

    @staticmethod
    def resample(state, size, p):
        import torch
        decay, decorrelate = float(p.value("decay")), bool(p.value("decorrelate"))
        with torch.no_grad():
            signal = _fourier_render_signal(state, decay, decorrelate)
            resized = _resize(signal, size, p.value("interpolation"))
            return _fourier_state_from_signal(resized, decay, decorrelate)

    @staticmethod
    def write(state, image, p):
        import torch
        with torch.no_grad():
            new = _fourier_state_from_signal(_from_unit(image, p.value("activation")),
                                             float(p.value("decay")), bool(p.value("decorrelate")))
            state["spectrum"].copy_(new["spectrum"])

    @staticmethod
    def lr_factors(p):
        return {"spectrum": 1.0, "width": 0.0}



# --- pyramid ---------------------------------------------------------------------------------

def _level_sizes(size, levels):
    """[w, h] of each level: 1/1, 1/2, 1/4, ... of the resolution (at least 1 pixel)."""
    w, h = size
    return [(max(1, round(w / 2 ** i)), max(1, round(h / 2 ** i))) for i in range(levels)]


def _upsample(x, size):
    import torch.nn.functional as F
    w, h = size
    if x.shape[-1] == w and x.shape[-2] == h:
        return x
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


def _pyramid_render(state):
    """Coarsest level first: upsample (bilinear) to the next level's size and add that level,
    down to the finest (a Laplacian pyramid; each upsampling only doubles the size)."""
    image = None
    for i in range(len(state) - 1, -1, -1):
        level = state[f"level{i}"]
        image = level if image is None else _upsample(image, (level.shape[-1],
                                                             level.shape[-2])) + level
    return image


def _pyramid_decompose(image, levels):
    """The Laplacian pyramid of `image` [1,3,H,W]: the coarsest level is the image
    area-downsampled, each finer level what its scale adds to the upsampled coarser one;
    rendering it gives the image back exactly."""
    import torch.nn.functional as F
    image = image.float()
    size = (image.shape[-1], image.shape[-2])
    sizes = _level_sizes(size, levels)
    scaled = [F.interpolate(image, size=(h, w), mode="area") if (w, h) != size else image
              for w, h in sizes]
    state = {f"level{levels - 1}": scaled[-1].contiguous()}
    for i in range(levels - 2, -1, -1):
        state[f"level{i}"] = (scaled[i] - _upsample(scaled[i + 1], sizes[i])).contiguous()
    return state


class PyramidPixels(Source):
    """The image as a sum of upsampled images at 1/1, 1/2, 1/4, ... of the resolution.

    A Laplacian pyramid: rendering starts at the coarsest level, upsamples it (bilinear)
    to the next level's size and adds that level, down to the full resolution. Each level
    is trained with its own learning-rate factor (level i, at 1/2^i of the
    resolution, learns at level_learnrate^i): coarse levels move large areas at once,
    which favours composition over pixel noise early in a run.
    """

    name = "pyramid_pixels"
    params = (
        RESOLUTION,
        Int("levels", 4, "Number of levels (the coarsest is 1/2^(levels-1) of the resolution).",
            minimum=1, maximum=12),
        Float("level_learnrate", 1.0, "Learning-rate factor per level step: level i learns at "
                                      "level_learnrate^i.", minimum=0.0, maximum=100.0),
        Vector("init_mean", 3, [0.5, 0.5, 0.5], "Per-channel mean of the initial image."),
        Vector("init_std", 3, [0.1, 0.1, 0.1], "Per-channel standard deviation of the initial "
                                               "noise (spread over the levels)."),
        INIT_IMAGE,
        INTERPOLATION,
    )

    @staticmethod
    def init(p, generator, base_dir=None):
        import torch
        size = p.value("resolution")
        levels = int(p.value("levels"))
        image = _load_init_image(p, "init_image", size, base_dir)
        if image is not None:
            return _pyramid_decompose(image, levels)
        std = torch.tensor(p.value("init_std"), dtype=torch.float32).view(1, 3, 1, 1)
        mean = torch.tensor(p.value("init_mean"), dtype=torch.float32).view(1, 3, 1, 1)
        state = {}
        for i, (w, h) in enumerate(_level_sizes(size, levels)):
            noise = torch.randn((1, 3, h, w), generator=generator) * std / levels ** 0.5
            state[f"level{i}"] = noise + (mean if i == levels - 1 else 0)
        return state

    @staticmethod
    def render(state, p):
        return _pyramid_render(state)

    @staticmethod
    def resample(state, size, p):
        import torch
        with torch.no_grad():
            image = _resize(_pyramid_render(state), size, p.value("interpolation"))
            return _pyramid_decompose(image, int(p.value("levels")))

    @staticmethod
    def write(state, image, p):
        import torch
        with torch.no_grad():
            new = _pyramid_decompose(image, len(state))
            for name, value in new.items():
                state[name].copy_(value)

    @staticmethod
    def lr_factors(p):
        factor = float(p.value("level_learnrate"))
        return {f"level{i}": factor ** i for i in range(int(p.value("levels")))}
