"""Taking reroute dots out of a graph before it is checked, compiled or exported.

A reroute node (`reroute_image`, `reroute_feature`, ...: nodes/reroute.py) only gives a
link a tidier path in the editor. `splice_reroutes` joins what feeds each reroute to what
it feeds, in the reroute's place in the link order, and removes it: the result means
exactly what the graph means, without them. Pure: the graph passed in is not changed.
"""

from __future__ import annotations

from .model import Graph, Link

PREFIX = "reroute_"


def is_reroute(type_name: str) -> bool:
    return type_name.startswith(PREFIX)


def reroute_type(socket_type: str) -> str:
    """The reroute node type that carries links of `socket_type` (IMAGE: reroute_image)."""
    return PREFIX + socket_type.lower()


def splice_reroutes(graph: Graph) -> Graph:
    """`graph` itself when it has no reroutes, else a copy with them spliced out."""
    reroutes = [n.id for n in graph if is_reroute(n.type)]
    if not reroutes:
        return graph
    out = graph.copy()
    for node_id in reroutes:
        sources = [(l.src, l.src_socket) for l in out.links if l.dst == node_id]
        links: list[Link] = []
        for link in out.links:
            if link.dst == node_id:
                continue
            if link.src == node_id:
                for src, socket in sources:
                    joined = Link(src, socket, link.dst, link.dst_socket)
                    if joined not in links:
                        links.append(joined)
            elif link not in links:
                links.append(link)
        out.links = links
        del out.nodes[node_id]
    return out
