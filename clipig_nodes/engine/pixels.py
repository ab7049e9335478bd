"""The trained pixels: initialisation from noise or an image, and resampling.

Resolutions are [width, height] everywhere; tensors are [1,3,H,W].
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from .errors import EngineError
from .images import load_rgb

INTERPOLATION = {"nearest": "nearest", "linear": "bilinear", "cubic": "bicubic"}


def resample(x: torch.Tensor, size_wh: tuple[int, int], interpolation: str) -> torch.Tensor:
    """Resize [1,3,H,W] to [width, height] with the Pixels node's interpolation name."""
    mode = INTERPOLATION[interpolation]
    w, h = size_wh
    if x.shape[-1] == w and x.shape[-2] == h:
        return x
    extra = {} if mode == "nearest" else {"align_corners": False}
    return F.interpolate(x, size=(h, w), mode=mode, **extra)


def cover_resize(image: torch.Tensor, size_wh: tuple[int, int]) -> torch.Tensor:
    """Scale [3,H,W] so it covers [width, height] (shorter side fits), then center-crop.

    CLIPig's version transposed the crop for non-square sizes (bug A.5); this one
    keeps the orientation.
    """
    w, h = size_wh
    _, ih, iw = image.shape
    if (iw, ih) == (w, h):
        return image
    scale = max(w / iw, h / ih)
    nw, nh = max(w, round(iw * scale)), max(h, round(ih * scale))
    x = F.interpolate(image[None], size=(nh, nw), mode="bicubic", align_corners=False,
                      antialias=True)[0]
    top, left = (nh - h) // 2, (nw - w) // 2
    return x[:, top:top + h, left:left + w]


def initial_pixels(resolution: tuple[int, int], mean, std, image: str | None,
                   init_resolution, generator: torch.Generator, base_dir: Path | None = None
                   ) -> torch.Tensor:
    """The starting image [1,3,H,W] in [0,1] on the CPU (the caller moves it).

    Noise: N(0,1) * std + mean at init_resolution (or resolution), then stretched to
    resolution. An image is taken as it is (CLIPig also scaled images by std and
    offset them by mean, against its docs, which describe mean/std for noise only).
    """
    start = tuple(init_resolution) if init_resolution else tuple(resolution)
    if image:
        path = Path(image).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise EngineError(f"pixels.init_image: file not found: {path}")
        x = cover_resize(load_rgb(path), start)[None]
    else:
        w, h = start
        # in place: one image-sized copy, what the memory check counts (INIT_COPIES)
        x = torch.randn((1, 3, h, w), generator=generator)
        x.mul_(torch.tensor(std).view(1, 3, 1, 1)).add_(torch.tensor(mean).view(1, 3, 1, 1))
    if (x.shape[-1], x.shape[-2]) != tuple(resolution):
        x = F.interpolate(x, size=(resolution[1], resolution[0]), mode="bicubic",
                          align_corners=False)
    return x.clamp(0, 1).contiguous()
