"""Reroutes: dots that carry a link along a tidier path in the editor.

One tiny type per socket type (`reroute_image`, `reroute_feature`, ...), each with one
input and one output of that type. They do nothing: before validation and compiling,
`clipig_nodes.graph.reroute.splice_reroutes` joins what feeds a reroute to what it feeds
and takes the reroute out, so the engine never sees one.
"""

from clipig_nodes.graph.reroute import reroute_type
from clipig_nodes.registry import CONSTRAINT, FEATURE, IMAGE, SINK, TARGET, NodeType, Socket


def _reroute(socket_type: str) -> type:
    name = reroute_type(socket_type)
    return type(name.title().replace("_", ""), (NodeType,), {
        "__doc__": f"A dot on a {socket_type} link, to route it tidily; it changes nothing "
                   "(taken out before the graph is checked and run).",
        "__module__": __name__,
        "name": name,
        "category": SINK,
        "inputs": (Socket("in", socket_type, multi=socket_type in (FEATURE, CONSTRAINT, TARGET),
                          doc="What the dot carries."),),
        "outputs": (Socket("out", socket_type, doc="The same, passed on."),),
        "params": (),
    })


RerouteImage = _reroute(IMAGE)
RerouteFeature = _reroute(FEATURE)
RerouteConstraint = _reroute(CONSTRAINT)
RerouteTarget = _reroute(TARGET)
