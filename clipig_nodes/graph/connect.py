"""Whether a link may be made, and why not.

`link_problem` returns a reason ("IMAGE cannot feed FEATURE", "would create a
cycle: a -> b -> a") or None. The editor shows the reason when it refuses a
link; validation reuses the same checks for links read from a file.
"""

from __future__ import annotations

from .model import Graph, Link


def socket_problem(graph: Graph, registry, link: Link) -> str | None:
    """Unknown node/socket or mismatched socket types; None when the link fits.

    Unknown node *types* are not blamed here: that error belongs to the node.
    """
    src_node, dst_node = graph.nodes.get(link.src), graph.nodes.get(link.dst)
    if src_node is None:
        return f"no node '{link.src}'"
    if dst_node is None:
        return f"no node '{link.dst}'"
    src_type, dst_type = registry.get(src_node.type), registry.get(dst_node.type)
    if src_type is None or dst_type is None:
        return None
    out = src_type.output(link.src_socket)
    if out is None:
        names = ", ".join(s.name for s in src_type.outputs) or "none"
        return f"'{link.src}' ({src_node.type}) has no output '{link.src_socket}' (outputs: {names})"
    inp = dst_type.input(link.dst_socket)
    if inp is None:
        names = ", ".join(s.name for s in dst_type.inputs) or "none"
        return f"'{link.dst}' ({dst_node.type}) has no input '{link.dst_socket}' (inputs: {names})"
    if out.type != inp.type:
        return f"{out.type} cannot feed {inp.type} ({link})"
    return None


def path_between(graph: Graph, start: str, goal: str) -> list[str] | None:
    """A path of node ids from start to goal along links, or None (iterative DFS)."""
    parents: dict[str, str | None] = {start: None}
    stack = [start]
    while stack:
        current = stack.pop()
        if current == goal:
            path = [current]
            while parents[path[-1]] is not None:
                path.append(parents[path[-1]])
            return path[::-1]
        for link in graph.links:
            if link.src == current and link.dst not in parents:
                parents[link.dst] = current
                stack.append(link.dst)
    return None


def link_problem(graph: Graph, registry, link: Link) -> str | None:
    """Why `link` cannot be added to `graph` (it is not in it yet), or None.

    A second link into a single input is not a problem here: the editor replaces
    the old one (see `replaced_links`).
    """
    if link.src == link.dst:
        return f"a node cannot feed itself ({link})"
    reason = socket_problem(graph, registry, link)
    if reason:
        return reason
    if link in graph.links:
        return f"link {link} already exists"
    back = path_between(graph, link.dst, link.src)
    if back:
        return "would create a cycle: " + " -> ".join([*back, link.dst])
    return None


def replaced_links(graph: Graph, registry, link: Link) -> list[Link]:
    """Links that adding `link` displaces: the old link into a single (non-multi) input."""
    node = graph.nodes.get(link.dst)
    node_type = registry.get(node.type) if node else None
    socket = node_type.input(link.dst_socket) if node_type else None
    if socket is None or socket.multi:
        return []
    return [l for l in graph.links_into(link.dst, link.dst_socket) if l != link]
