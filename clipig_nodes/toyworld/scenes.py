"""Procedural toy scenes: a coloured shape on a coloured background, with a caption.

"a red circle on a blue background": the shape is drawn near the centre (its centre
within 10% of the middle, its half size 22-32% of the side), so the border ring is
background and the middle is shape; the composition measure in `judge.py` relies on it.
Scenes are drawn in batches on the CPU with a torch.Generator, supersampled 2x for
smooth edges, with a little colour jitter and pixel noise so that a model trained on
them does not hinge on exact values.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

# Eight colours far apart in RGB, so every pixel has one clear nearest colour.
PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 0.8, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "purple": (0.6, 0.0, 0.8),
    "white": (1.0, 1.0, 1.0),
    "black": (0.0, 0.0, 0.0),
}
COLOURS = tuple(PALETTE)
SHAPES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str          # the shape's colour
    background: str

    @property
    def caption(self) -> str:
        return f"a {self.colour} {self.shape} on a {self.background} background"

    def swapped(self) -> "Scene":
        """The same shape with the two colours in each other's role."""
        return Scene(self.shape, self.background, self.colour)


def all_scenes() -> list[Scene]:
    """Every caption of the world (8 x 7 colour pairs x 3 shapes = 168)."""
    return [Scene(s, c, b) for s in SHAPES for c, b in itertools.permutations(COLOURS, 2)]


def palette_tensor() -> torch.Tensor:
    """[K,3] the palette in COLOURS order."""
    return torch.tensor([PALETTE[c] for c in COLOURS])


def shape_masks(shapes: list[str], size: int, generator: torch.Generator,
                jitter: bool = True) -> torch.Tensor:
    """[N,1,size,size] soft masks (1 inside the shape), supersampled 2x then averaged."""
    n, fine = len(shapes), 2 * size
    coords = (torch.arange(fine, dtype=torch.float32) + 0.5) / fine          # [fine] in (0,1)
    y, x = coords.view(1, fine, 1), coords.view(1, 1, fine)
    if jitter:
        centre = 0.5 + (torch.rand(n, 2, generator=generator) - 0.5) * 0.2    # within 10%
        half = 0.22 + torch.rand(n, 1, generator=generator) * 0.10
    else:
        centre, half = torch.full((n, 2), 0.5), torch.full((n, 1), 0.27)
    cx, cy = centre[:, 0].view(n, 1, 1), centre[:, 1].view(n, 1, 1)
    h = half.view(n, 1, 1)
    dx, dy = x - cx, y - cy
    masks = []
    for i, shape in enumerate(shapes):
        if shape == "circle":
            m = dx[i] ** 2 + dy[i] ** 2 <= h[i] ** 2
        elif shape == "square":
            m = torch.maximum(dx[i].abs(), dy[i].abs()) <= h[i] * 0.85
        elif shape == "triangle":        # pointing up, base at the bottom
            top = -h[i]
            m = (dy[i] <= h[i] * 0.8) & (dx[i].abs() <= (dy[i] - top) * 0.62)
        else:
            raise ValueError(f"unknown shape '{shape}'")
        masks.append(m.float())
    fine_masks = torch.stack(masks)[:, None]                                 # [N,1,fine,fine]
    return torch.nn.functional.avg_pool2d(fine_masks, 2)


def draw(scenes: list[Scene], size: int, generator: torch.Generator,
         augment: bool = True) -> torch.Tensor:
    """[N,3,size,size] images in [0,1] of the scenes."""
    n = len(scenes)
    masks = shape_masks([s.shape for s in scenes], size, generator, jitter=augment)
    fg = torch.tensor([PALETTE[s.colour] for s in scenes]).view(n, 3, 1, 1)
    bg = torch.tensor([PALETTE[s.background] for s in scenes]).view(n, 3, 1, 1)
    if augment:
        fg = fg + (torch.rand(n, 3, 1, 1, generator=generator) - 0.5) * 0.2
        bg = bg + (torch.rand(n, 3, 1, 1, generator=generator) - 0.5) * 0.2
    images = masks * fg + (1 - masks) * bg
    if augment:
        noise = torch.rand(n, 1, 1, 1, generator=generator) * 0.15
        images = images + torch.randn(images.shape, generator=generator) * noise
    return images.clamp(0, 1)
