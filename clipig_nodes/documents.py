"""Open whatever a user hands us as a graph: a graph file, a PNG with an embedded
graph, or one or several legacy CLIPig YAML configs (merged in order).

The kind is recognised by content, not by file name. Problems come back as a
list (with file names and lines); the caller decides how to show them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .graph.model import Graph
from .problems import Problem, ProblemsError

GRAPH, PNG, LEGACY = "graph", "png", "legacy"


@dataclass
class Loaded:
    graph: Graph | None
    kind: str | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.graph is not None and not any(p.is_error for p in self.problems)


def load_document(paths: list[str | os.PathLike] | str | os.PathLike, registry=None) -> Loaded:
    """Load one graph file or PNG, or several legacy configs merged as CLIPig's CLI does."""
    from .graph.fileformat import detect_kind, load_graph
    from .graph.pngmeta import read_png_graph

    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    try:
        kinds = [detect_kind(p) for p in paths]
    except ProblemsError as exc:
        return Loaded(None, None, exc.problems)
    if len(paths) > 1 and any(k != LEGACY for k in kinds):
        others = ", ".join(str(p) for p, k in zip(paths, kinds) if k != LEGACY)
        return Loaded(None, None, [Problem(f"only legacy YAML configs can be merged; {others} "
                                           "is a graph")])
    kind = kinds[0]
    try:
        if kind == GRAPH:
            return Loaded(load_graph(paths[0]), kind)
        if kind == PNG:
            return Loaded(read_png_graph(paths[0]), kind)
    except ProblemsError as exc:
        return Loaded(None, kind, exc.problems)
    from .legacy import import_legacy_files
    result = import_legacy_files(paths, registry=registry)
    return Loaded(result.graph if result.ok else None, LEGACY, list(result.problems))
