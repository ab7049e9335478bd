"""The contact sheet: every finished image of a sweep on one PNG, captioned with its inputs."""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path

from ..yamlio import write_atomic
from .grid import describe
from .index import DONE, SweepIndex

THUMB = 192          # longest side of a thumbnail, pixels
PAD = 8
CAPTION_LINES = 3
CHARS_PER_LINE = 30
NAME = "contact-sheet.png"


def write_contact_sheet(index: SweepIndex, keys=None, path: str | Path | None = None) -> Path | None:
    """Write OUT/contact-sheet.png (atomically) from the done jobs among `keys` (default all),
    in order; None when there is no image yet."""
    from PIL import Image, ImageDraw, ImageFont

    keys = list(index.entries) if keys is None else list(keys)
    entries = [index.entries[k] for k in keys
               if k in index.entries and index.entries[k].status == DONE and index.entries[k].image]
    if not entries:
        return None
    font = ImageFont.load_default(size=12)
    line_height = 15
    columns = max(1, math.ceil(math.sqrt(len(entries))))
    rows = math.ceil(len(entries) / columns)
    cell_w, cell_h = THUMB + PAD, THUMB + PAD + CAPTION_LINES * line_height
    sheet = Image.new("RGB", (columns * cell_w + PAD, rows * cell_h + PAD), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, entry in enumerate(entries):
        x, y = PAD + (i % columns) * cell_w, PAD + (i // columns) * cell_h
        try:
            with Image.open(index.out / entry.image) as image:
                image = _fit(image.convert("RGB"), Image)
                sheet.paste(image, (x + (THUMB - image.width) // 2, y + (THUMB - image.height) // 2))
        except OSError:
            draw.rectangle([x, y, x + THUMB - 1, y + THUMB - 1], outline=(200, 0, 0))
        lines = textwrap.wrap(describe(entry.inputs) or entry.name, CHARS_PER_LINE)[:CAPTION_LINES]
        for n, line in enumerate(lines):
            draw.text((x, y + THUMB + 2 + n * line_height), line, fill=(0, 0, 0), font=font)
    path = Path(path) if path is not None else index.out / NAME
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())
    return path


def _fit(image, Image):
    """Scaled so its longest side is THUMB: small images (tests, previews) grow with sharp pixels."""
    scale = THUMB / max(image.width, image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
