"""The graph model: plain data, no GUI or torch state.

A graph is an ordered set of nodes (each with a human-readable unique id, a
type name, the param values set on it and an editor position) and an ordered
list of links from `node.output` to `node.input`. Link order matters: it is
the order of a multi input (the targets of a run, the features of a target).

A graph may also declare named inputs (`prompt`, `seed`, ...), each bound to one
node param: the template's arguments, set with `run --set` or a sweep's grid.

The model does not know the node library; what a link or a value means is
checked by `clipig_nodes.graph.validate` and `clipig_nodes.graph.connect`.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
INPUT_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")      # no '-': `--set a-b=1` reads badly


class GraphError(ValueError):
    """An edit that the model cannot make (unknown node, duplicate id, ...)."""


def check_id(node_id: str) -> str:
    if not isinstance(node_id, str) or not ID_PATTERN.fullmatch(node_id):
        raise GraphError(f"'{node_id}' is not a valid node id: use letters, digits, _ and -, "
                         "starting with a letter or _")
    return node_id


def check_input_name(name: str) -> str:
    """Input names are used in `--set name=value`, sweep grids and output file names."""
    if not isinstance(name, str) or not INPUT_PATTERN.fullmatch(name):
        raise GraphError(f"'{name}' is not a valid input name: use letters, digits and _, "
                         "starting with a letter or _")
    return name


def slug(text: str, fallback: str = "node") -> str:
    """A readable id from free text: 'Random Sampler #2' -> 'random_sampler_2'."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", str(text).strip()).strip("_-").lower()
    if not s:
        return fallback
    return s if ID_PATTERN.fullmatch(s) else f"{fallback}_{s}"


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)   # only values set; defaults live in the type
    pos: tuple[float, float] = (0.0, 0.0)


@dataclass
class Group:
    """A titled, coloured frame around some nodes in the editor (no effect on training)."""

    title: str
    color: tuple[int, int, int] = (90, 110, 150)
    nodes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Input:
    """A named input of the graph: sets param `param` of node `node`."""

    name: str
    node: str
    param: str
    description: str = ""

    @property
    def target(self) -> str:
        return f"{self.node}.{self.param}"

    @staticmethod
    def split_target(text) -> tuple[str, str]:
        """'text_feature.text' -> ('text_feature', 'text'); GraphError when malformed."""
        node, dot, param = str(text).strip().rpartition(".") if isinstance(text, str) else ("", "", "")
        if not dot or not node or not param:
            raise GraphError(f"an input is bound to 'node.param', got {text!r}")
        return node, param


@dataclass(frozen=True)
class Link:
    src: str
    src_socket: str
    dst: str
    dst_socket: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_socket} -> {self.dst}.{self.dst_socket}"

    @classmethod
    def parse(cls, text: str) -> "Link":
        """'a.image -> b.image' -> Link; GraphError when malformed."""
        if not isinstance(text, str) or text.count("->") != 1:
            raise GraphError(f"a link is written 'node.output -> node.input', got {text!r}")
        left, right = (part.strip() for part in text.split("->"))
        ends = []
        for end in (left, right):
            node, dot, socket = end.rpartition(".")
            if not dot or not node or not socket:
                raise GraphError(f"link end '{end}' must be 'node.socket' (in {text!r})")
            ends.append((node, socket))
        return cls(ends[0][0], ends[0][1], ends[1][0], ends[1][1])


class Graph:
    def __init__(self, description: str = ""):
        self.nodes: dict[str, Node] = {}
        self.links: list[Link] = []
        self.description = description
        self.inputs: dict[str, Input] = {}      # name -> input, in declaration order
        self.groups: list[Group] = []           # editor frames; ids of removed nodes stay (undo)

    # --- nodes ---------------------------------------------------------------------------------

    def __contains__(self, node_id) -> bool:
        return node_id in self.nodes

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node '{node_id}'") from None

    def unique_id(self, base: str) -> str:
        """`base`, or `base_2`, `base_3`, ... whichever is free."""
        base = slug(base)
        if base not in self.nodes:
            return base
        n = 2
        while f"{base}_{n}" in self.nodes:
            n += 1
        return f"{base}_{n}"

    def add_node(self, type_name: str, node_id: str | None = None, params: dict | None = None,
                 pos: tuple[float, float] = (0.0, 0.0)) -> Node:
        node_id = self.unique_id(type_name) if node_id is None else check_id(node_id)
        if node_id in self.nodes:
            raise GraphError(f"a node with id '{node_id}' already exists")
        node = Node(node_id, type_name, dict(params or {}), (float(pos[0]), float(pos[1])))
        self.nodes[node_id] = node
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Link]]:
        """Remove a node and its links; returns both (so an undo can put them back)."""
        node = self.node(node_id)
        removed = [link for link in self.links if node_id in (link.src, link.dst)]
        self.links = [link for link in self.links if node_id not in (link.src, link.dst)]
        del self.nodes[node_id]
        return node, removed

    def rename(self, old: str, new: str) -> None:
        self.node(old)
        check_id(new)
        if new == old:
            return
        if new in self.nodes:
            raise GraphError(f"a node with id '{new}' already exists")
        # rebuild the dict to keep the node's place in the order
        self.nodes = {(new if k == old else k): v for k, v in self.nodes.items()}
        self.nodes[new].id = new
        self.links = [Link(new if l.src == old else l.src, l.src_socket,
                           new if l.dst == old else l.dst, l.dst_socket) for l in self.links]
        self.inputs = {k: (dataclasses.replace(i, node=new) if i.node == old else i)
                       for k, i in self.inputs.items()}
        for group in self.groups:
            group.nodes = [new if n == old else n for n in group.nodes]

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        self.node(node_id).params[name] = value

    def reset_param(self, node_id: str, name: str) -> None:
        self.node(node_id).params.pop(name, None)

    def move(self, node_id: str, pos: tuple[float, float]) -> None:
        self.node(node_id).pos = (float(pos[0]), float(pos[1]))

    # --- inputs --------------------------------------------------------------------------------

    def add_input(self, name: str, node: str, param: str, description: str = "",
                  index: int | None = None) -> Input:
        """Declare input `name` bound to `node.param` (at `index` in the order, default last).
        The node need not exist yet (files load inputs before validation looks at them)."""
        check_input_name(name)
        if name in self.inputs:
            raise GraphError(f"an input named '{name}' already exists")
        bound = self.input_for(node, param)
        if bound is not None:
            raise GraphError(f"{node}.{param} is already the input '{bound.name}'")
        item = Input(name, node, param, description)
        items = list(self.inputs.items())
        items.insert(len(items) if index is None else index, (name, item))
        self.inputs = dict(items)
        return item

    def remove_input(self, name: str) -> tuple[int, Input]:
        """Remove an input; returns its index and itself (so an undo can put it back)."""
        if name not in self.inputs:
            raise GraphError(f"no input '{name}'")
        index = list(self.inputs).index(name)
        return index, self.inputs.pop(name)

    def rename_input(self, old: str, new: str) -> None:
        if old not in self.inputs:
            raise GraphError(f"no input '{old}'")
        check_input_name(new)
        if new != old and new in self.inputs:
            raise GraphError(f"an input named '{new}' already exists")
        self.inputs = {(new if k == old else k): (dataclasses.replace(v, name=new) if k == old else v)
                       for k, v in self.inputs.items()}

    def input_for(self, node: str, param: str) -> Input | None:
        """The input bound to node.param, if any."""
        return next((i for i in self.inputs.values() if (i.node, i.param) == (node, param)), None)

    # --- links ---------------------------------------------------------------------------------

    def connect(self, src: str, src_socket: str, dst: str, dst_socket: str,
                index: int | None = None) -> Link:
        """Add a link (at `index` in the link order, default last). No type checks here."""
        self.node(src)
        self.node(dst)
        link = Link(src, src_socket, dst, dst_socket)
        if link in self.links:
            raise GraphError(f"link {link} already exists")
        if index is None:
            self.links.append(link)
        else:
            self.links.insert(index, link)
        return link

    def disconnect(self, link: Link) -> int:
        """Remove a link; returns its index (for undo)."""
        try:
            index = self.links.index(link)
        except ValueError:
            raise GraphError(f"no link {link}") from None
        del self.links[index]
        return index

    def links_into(self, node_id: str, socket: str | None = None) -> list[Link]:
        return [l for l in self.links if l.dst == node_id and (socket is None or l.dst_socket == socket)]

    def links_from(self, node_id: str, socket: str | None = None) -> list[Link]:
        return [l for l in self.links if l.src == node_id and (socket is None or l.src_socket == socket)]

    def upstream(self, node_id: str, socket: str) -> list[Node]:
        """The nodes feeding one input, in link order."""
        return [self.nodes[l.src] for l in self.links_into(node_id, socket) if l.src in self.nodes]

    # --- whole graph ---------------------------------------------------------------------------

    def copy(self) -> "Graph":
        return copy.deepcopy(self)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        return (self.description == other.description
                and list(self.nodes.items()) == list(other.nodes.items())
                and self.links == other.links
                and list(self.inputs.items()) == list(other.inputs.items())
                and self.groups == other.groups)

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes, {len(self.links)} links>"
