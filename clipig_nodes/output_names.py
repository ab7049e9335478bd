"""Where a run's image goes (before numbering): shared by the engine and the editor,
which must not load torch for it.

The name comes from -o, else the Train node's `output` (default "./"): a folder (ending in a
separator, or an existing folder) gets `<source name>.png`; a name without an extension gets
`.png`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .graph.fileformat import SUFFIX


def source_stem(source: str | os.PathLike | None, fallback: str = "output") -> str:
    """'scenes/demo.graph.yaml' -> 'demo' (also .yaml, .yml, .png); `fallback` without one."""
    if not source:
        return fallback
    name = Path(source).name
    for suffix in (SUFFIX, ".yaml", ".yml", ".png"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or fallback
    return Path(name).stem or fallback


def output_path(output: str | None, source: str | os.PathLike | None = None) -> Path:
    """The wanted image path from -o / the Train node's output and the source file name."""
    output = output or "./"
    path = Path(os.path.expanduser(output))
    if output.endswith(("/", os.sep)) or path.is_dir():
        path = path / f"{source_stem(source)}.png"
    elif not path.suffix:
        path = path.with_suffix(".png")
    return path
