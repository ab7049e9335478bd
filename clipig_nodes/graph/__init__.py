"""The plain-Python graph layer: model, files, validation, compile. No torch, no GUI.

Heavier submodules load on first use, so `from clipig_nodes.graph import Graph`
stays instant.
"""

from importlib import import_module

from .model import Graph, GraphError, Link, Node

_LAZY = {
    "validate": ".validate", "analyse": ".validate",
    "compile_graph": ".compile", "Program": ".compile",
    "load_graph": ".fileformat", "save_graph": ".fileformat", "loads_graph": ".fileformat",
    "dumps_graph": ".fileformat", "detect_kind": ".fileformat",
    "graph_from_dict": ".fileformat", "graph_to_dict": ".fileformat",
    "is_graph_document": ".fileformat",
    "read_png_graph": ".pngmeta", "save_png": ".pngmeta",
    "link_problem": ".connect", "auto_layout": ".layout",
}

__all__ = ["Graph", "GraphError", "Link", "Node", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
