"""Walking IMAGE chains: from an input back to the pixel source.

A transform chain is the IMAGE path that ends in an input (a target's image,
the train node's postproc, a preview). Every transform has one IMAGE input,
so the chain is found by walking links backwards until the source.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import IMAGE, SOURCE
from .model import Graph


@dataclass(frozen=True)
class Chain:
    nodes: tuple[str, ...]        # transform node ids, from the source side to the input
    source: str | None            # the pixel source it starts from, None when broken
    broken_at: str | None = None  # node whose IMAGE input is missing (or loops)

    @property
    def complete(self) -> bool:
        return self.source is not None


def image_input(node_type) -> str | None:
    """Name of a node type's IMAGE input, when it has exactly one."""
    names = [s.name for s in node_type.inputs if s.type == IMAGE]
    return names[0] if len(names) == 1 else None


def chain_into(graph: Graph, registry, node_id: str, socket: str) -> Chain:
    """The chain of transforms feeding `node_id.socket`, walking back to the source."""
    nodes: list[str] = []
    seen = {node_id}
    current, current_socket = node_id, socket
    while True:
        links = graph.links_into(current, current_socket)
        if not links:
            return Chain(tuple(reversed(nodes)), None, broken_at=current)
        upstream = links[0].src
        node = graph.nodes.get(upstream)
        node_type = registry.get(node.type) if node else None
        if node_type is None or upstream in seen:
            return Chain(tuple(reversed(nodes)), None, broken_at=upstream)
        if node_type.category == SOURCE:
            return Chain(tuple(reversed(nodes)), upstream)
        seen.add(upstream)
        nodes.append(upstream)
        current, current_socket = upstream, image_input(node_type)
        if current_socket is None:
            return Chain(tuple(reversed(nodes)), None, broken_at=upstream)
