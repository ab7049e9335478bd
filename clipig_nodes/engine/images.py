"""Image files <-> tensors. Every file becomes RGB: RGBA, palette and grayscale
images load as what they show (CLIPig crashed on RGBA and read palettes as raw
indices)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..yamlio import NotRegularFile, open_regular
from .errors import EngineError

# A few KB of PNG can declare 20000 x 20000 pixels (a "decompression bomb"): the size is
# read from the header before anything is decoded. 40 megapixels (e.g. 7300 x 5470) as
# float RGB are about 0.5 GB.
MAX_PIXELS = 40_000_000


def load_rgb(path: str | os.PathLike) -> torch.Tensor:
    """An image file -> float tensor [3,H,W] in [0,1]. Transparent areas become black."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with warnings.catch_warnings(), open_regular(path) as file:
            # PIL warns above its own limit; ours below is lower and says what to do
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise EngineError(f"image {path} is too large: {width} x {height} pixels (at most "
                                  f"{MAX_PIXELS // 1_000_000} megapixels); scale it down first")
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
                image = Image.alpha_composite(background, rgba)
            rgb = image.convert("RGB")
    except FileNotFoundError:
        raise EngineError(f"image file not found: {path}") from None
    except NotRegularFile as exc:
        raise EngineError(f"cannot read image {path}: {exc.strerror}") from None
    except Image.DecompressionBombError as exc:
        raise EngineError(f"image {path} is too large: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise EngineError(f"cannot read image {path}: {exc}") from None
    array = np.asarray(rgb, dtype=np.uint8).copy()
    return torch.from_numpy(array).permute(2, 0, 1).float() / 255.0


def to_pil(pixels: torch.Tensor):
    """[3,H,W] or [1,3,H,W] tensor -> 8-bit PIL image (clamped, rounded half up as CLIPig)."""
    from PIL import Image

    x = pixels.detach()
    if x.dim() == 4:
        x = x[0]
    array = (x.float().clamp(0, 1) * 255 + 0.5).floor().to(torch.uint8)
    return Image.fromarray(array.permute(1, 2, 0).cpu().numpy(), "RGB")
