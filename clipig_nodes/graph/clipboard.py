"""Copy and paste of nodes, within a graph or across graphs.

A copied selection is the text of a graph file holding the selected nodes and
the links among them (fileformat's dict form), so it survives the system
clipboard, pastes into another graph or another editor window, and a graph
file's text pastes as well. Pasting never reuses an id that is taken in the
target graph (see commands.PasteNodes) and shifts the nodes so that copies do
not sit exactly on their originals.
"""

from __future__ import annotations

from typing import Iterable

from ..problems import ProblemsError
from .commands import PasteNodes
from .fileformat import dumps_graph, loads_graph
from .model import Graph

PASTE_OFFSET = (40.0, 40.0)


def selection_graph(graph: Graph, node_ids: Iterable[str]) -> Graph:
    """The selected nodes (in graph order) and the links among them, as a new graph."""
    wanted = set(node_ids)
    fragment = Graph()
    for node in graph:
        if node.id in wanted:
            fragment.add_node(node.type, node.id, node.params, node.pos)
    fragment = fragment.copy()          # params deep-copied
    for link in graph.links:
        if link.src in wanted and link.dst in wanted:
            fragment.connect(link.src, link.src_socket, link.dst, link.dst_socket)
    return fragment


def copy_nodes(graph: Graph, node_ids: Iterable[str]) -> str:
    """The clipboard text for a selection (a graph file's text)."""
    return dumps_graph(selection_graph(graph, node_ids))


def parse_clipboard(text: str) -> Graph:
    """The nodes in clipboard text; ProblemsError when it holds no graph."""
    if not isinstance(text, str) or not text.strip():
        from ..problems import Problem
        raise ProblemsError([Problem("the clipboard is empty")], "nothing to paste")
    return loads_graph(text, source="clipboard")


def paste_command(text: str, offset=PASTE_OFFSET, at: tuple[float, float] | None = None) -> PasteNodes:
    """A PasteNodes command for clipboard text (not executed yet).

    `offset` shifts every node; with `at`, the fragment's top-left corner goes there
    instead (pasting at the mouse). Raises ProblemsError for text that is no graph.
    """
    fragment = parse_clipboard(text)
    if at is not None and len(fragment):
        left = min(n.pos[0] for n in fragment)
        top = min(n.pos[1] for n in fragment)
        offset = (at[0] - left, at[1] - top)
    return PasteNodes(fragment, offset)


def duplicate_command(graph: Graph, node_ids: Iterable[str], offset=PASTE_OFFSET) -> PasteNodes:
    """Copy and paste in one go (Ctrl+D)."""
    return PasteNodes(selection_graph(graph, node_ids), offset)
