"""What a picture shows, judged without CLIP: pixel statistics against the palette.

Every pixel is classified by its nearest palette colour (RGB distance; mid grey, the
colour of an untouched start, is a class of its own). Scenes put the
shape in the middle and the background around it (see scenes.py), so:
  colour share   - fraction of all pixels nearest to one of the asked colours;
  in role        - the composition check: in the middle square (the central 1/4 of
                   width and height, inside any shape the scenes draw) the shape's
                   colour outnumbers the background's colour, and in the border ring (the
                   outer 1/8 on each side, background in every scene) the background's
                   colour outnumbers the shape's; both colours must also be present
                   (at least 2% of the pixels each), so a one-colour image never passes;
  high-frequency share - the share of spectral energy (mean removed, all channels)
                   whose radial frequency is above half the Nyquist frequency
                   (0.25 cycles per pixel): grids and pixel noise live there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .scenes import COLOURS, Scene, palette_tensor

# Mid grey is no caption's colour, but an untouched start image is grey: counted as
# "none of the palette" rather than as its nearest colour (purple).
NEUTRAL = (0.5, 0.5, 0.5)


def nearest_colours(image: torch.Tensor) -> torch.Tensor:
    """[1,3,H,W] or [3,H,W] in [0,1] -> [H,W] palette index of each pixel (len(COLOURS)
    for the neutral grey)."""
    x = image.reshape(3, *image.shape[-2:]).float().cpu()
    palette = torch.cat([palette_tensor(), torch.tensor([NEUTRAL])])      # [K+1,3]
    distance = ((x[None] - palette[:, :, None, None]) ** 2).sum(dim=1)   # [K,H,W]
    return distance.argmin(dim=0)


def colour_shares(labels: torch.Tensor) -> dict[str, float]:
    counts = torch.bincount(labels.flatten(), minlength=len(COLOURS) + 1).float()
    return dict(zip(COLOURS + ("grey",), (counts / counts.sum()).tolist()))


@dataclass
class Verdict:
    colour_share: float        # pixels nearest to either asked colour
    shape_share: float         # pixels nearest to the shape's colour
    background_share: float
    in_role: bool

    def __str__(self) -> str:
        return (f"asked colours {self.colour_share:.0%} (shape {self.shape_share:.0%}, "
                f"background {self.background_share:.0%}), "
                f"{'in role' if self.in_role else 'NOT in role'}")


def regions(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean masks (middle square, border ring) of an image of this size."""
    y = torch.arange(height).view(-1, 1).float() + 0.5
    x = torch.arange(width).view(1, -1).float() + 0.5
    middle = ((y - height / 2).abs() <= height / 8) & ((x - width / 2).abs() <= width / 8)
    border = (y <= height / 8) | (y >= height * 7 / 8) | (x <= width / 8) | (x >= width * 7 / 8)
    return middle, border


def judge(image: torch.Tensor, scene: Scene, min_share: float = 0.02) -> Verdict:
    labels = nearest_colours(image)
    shape_i, back_i = COLOURS.index(scene.colour), COLOURS.index(scene.background)
    shares = colour_shares(labels)
    middle, border = regions(*labels.shape)

    def count(mask, index):
        return int((labels[mask] == index).sum())

    in_role = (count(middle, shape_i) > count(middle, back_i)
               and count(border, back_i) > count(border, shape_i)
               and shares[scene.colour] >= min_share and shares[scene.background] >= min_share)
    return Verdict(shares[scene.colour] + shares[scene.background], shares[scene.colour],
                   shares[scene.background], in_role)


def high_frequency_share(image: torch.Tensor) -> float:
    """Share of spectral energy above half the Nyquist frequency ([1,3,H,W] or [3,H,W])."""
    x = image.reshape(3, *image.shape[-2:]).float().cpu()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.rfft2(x).abs() ** 2                        # [3,H,W//2+1]
    h, w = x.shape[-2:]
    fy = torch.fft.fftfreq(h).view(-1, 1)
    fx = torch.fft.rfftfreq(w).view(1, -1)
    weight = torch.full((w // 2 + 1,), 2.0)                      # rfft: count the mirrored half
    weight[0] = 1.0
    if w % 2 == 0:
        weight[-1] = 1.0
    power = power * weight
    total = power.sum()
    if total <= 0:
        return 0.0
    high = (fx ** 2 + fy ** 2).sqrt() > 0.25
    return float(power[:, high].sum() / total)
