"""Where a run's image goes (before numbering): shared by the engine, the editor and
validation, none of which may load torch for it.

`-o` decides: what the user types is used as given (`~` expanded; a folder, ending in a
separator or existing, gets `<source name>.png`; a name without an extension gets `.png`).

Without `-o`, the name comes from the Train node's `output` (default "./"), which is read
from a file that may come from anyone (a PNG carries its graph). So it may only name a
place inside the folder the run starts in: a relative path without `..`, ending in `.png`,
in a separator (a folder), or without an extension (`.png` is added, as CLIPig does).
Anything else (absolute, `~`, `..`, another extension) is refused by `output_problem`,
which validation uses too, so `validate` and `run` agree.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from .graph.fileformat import SUFFIX

DEFAULT_OUTPUT = "./"
USE_O = "give the place with -o instead"


def source_stem(source: str | os.PathLike | None, fallback: str = "output") -> str:
    """'scenes/demo.graph.yaml' -> 'demo' (also .yaml, .yml, .png); `fallback` without one."""
    if not source:
        return fallback
    name = Path(source).name
    for suffix in (SUFFIX, ".yaml", ".yml", ".png"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or fallback
    return Path(name).stem or fallback


def output_problem(output) -> str | None:
    """Why a graph's `output` param cannot be used as an output name, or None when it can."""
    if output is None or output == "":
        return None
    if not isinstance(output, str):
        return f"must be a text (a file name ending in .png, or a folder ending in /); {USE_O}"
    if any(ord(c) < 32 or c == "\x7f" for c in output):
        return "contains control characters"
    if output.startswith("~"):
        return f"'{output}' names a place in a home folder; a file may only name a place " \
               f"inside the folder the run starts in: {USE_O}"
    posix, windows = PurePosixPath(output), PureWindowsPath(output)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        return f"'{output}' is an absolute path; a file may only name a place inside the " \
               f"folder the run starts in: {USE_O}"
    if ".." in posix.parts or ".." in windows.parts:
        return f"'{output}' leads out of the folder the run starts in ('..'): {USE_O}"
    if output.endswith(("/", "\\")):
        return None
    suffix = PurePosixPath(windows.name).suffix
    if suffix and suffix.lower() != ".png":
        return f"'{output}' does not end in .png (an image is written there): {USE_O}"
    return None


def output_path(output: str | None, source: str | os.PathLike | None = None, *,
                from_graph: bool = False) -> Path:
    """The wanted image path from -o (or, with from_graph, the Train node's output) and the
    source file name. ValueError (with the reason) for a graph output that is refused."""
    if from_graph:
        problem = output_problem(output)
        if problem:
            raise ValueError(f"node 'train' param 'output': {problem}")
        output = (output or DEFAULT_OUTPUT).replace("\\", "/")
        path = Path(output)
    else:
        output = output or DEFAULT_OUTPUT
        path = Path(os.path.expanduser(output))
    if output.endswith(("/", os.sep)) or path.is_dir():
        path = path / f"{source_stem(source)}.png"
    elif not path.suffix:
        path = path.with_suffix(".png")
    return path
