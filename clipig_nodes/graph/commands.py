"""Every edit of a graph as a command object, and the undo/redo history.

The editor never changes a Graph directly: it builds a Command and hands it to
`History.execute`. A command does its edit in `do(graph)` and takes it back
exactly in `undo(graph)` (nodes at their old place in the node order, links at
their old index in the link order, params at their old place in the params).
From the one mechanism fall out undo/redo, the "unsaved changes" flag, autosave
(the revision counter moves on every change) and "apply the edits since Start
to the running training" (the GUI compares revisions).

Plain Python: no GUI, no torch.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Iterable

from .model import Graph, GraphError, Group, Input, Link, Node, check_id
from .reroute import reroute_type

_MISSING = object()


class Command:
    """One undoable edit. Subclasses set `label` (shown as "Undo <label>")."""

    label = "edit"
    structural = True        # changes nodes or links (False: only values or positions)

    def do(self, graph: Graph) -> None:
        raise NotImplementedError

    def undo(self, graph: Graph) -> None:
        raise NotImplementedError

    def merge(self, other: "Command") -> bool:
        """Absorb `other` (done right after self) into self; True when merged."""
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"


# --- helpers ------------------------------------------------------------------------------------

def _insert_node(graph: Graph, index: int, node: Node) -> None:
    """Put `node` back at position `index` of the node order."""
    if node.id in graph.nodes:
        raise GraphError(f"a node with id '{node.id}' already exists")
    items = list(graph.nodes.items())
    items.insert(index, (node.id, node))
    graph.nodes = dict(items)


def _insert_links(graph: Graph, indexed: Iterable[tuple[int, Link]]) -> None:
    """Reinsert links at their old indices (ascending order restores the old list)."""
    for index, link in sorted(indexed, key=lambda item: item[0]):
        graph.links.insert(index, link)


def _remove_links(graph: Graph, links: Iterable[Link]) -> list[tuple[int, Link]]:
    """Remove links; returns (old index, link) pairs for `_insert_links`."""
    wanted = set(links)
    removed = [(i, l) for i, l in enumerate(graph.links) if l in wanted]
    missing = wanted - {l for _, l in removed}
    if missing:
        raise GraphError(f"no link {sorted(map(str, missing))[0]}")
    graph.links = [l for l in graph.links if l not in wanted]
    return removed


def _pos(pos) -> tuple[float, float]:
    return (float(pos[0]), float(pos[1]))


# --- nodes --------------------------------------------------------------------------------------

class AddNode(Command):
    label = "add node"

    def __init__(self, type_name: str, node_id: str | None = None, params: dict | None = None,
                 pos=(0.0, 0.0)):
        self.type_name = type_name
        self.node_id = node_id
        self.params = dict(params or {})
        self.pos = _pos(pos)

    def do(self, graph):
        node = graph.add_node(self.type_name, self.node_id, copy.deepcopy(self.params), self.pos)
        self.node_id = node.id          # redo makes the same id
        self.label = f"add {node.id}"

    def undo(self, graph):
        graph.remove_node(self.node_id)


class RemoveNodes(Command):
    """Remove nodes with their links; undo puts both back in place and order."""

    label = "delete"

    def __init__(self, node_ids: Iterable[str]):
        self.node_ids = list(dict.fromkeys(node_ids))
        self._nodes: list[tuple[int, Node]] = []
        self._links: list[tuple[int, Link]] = []
        self._inputs: list[tuple[int, Input]] = []
        self.label = ("delete " + self.node_ids[0] if len(self.node_ids) == 1
                      else f"delete {len(self.node_ids)} nodes")

    def do(self, graph):
        for node_id in self.node_ids:
            graph.node(node_id)                 # every id checked before anything changes
        order = list(graph.nodes)
        ids = set(self.node_ids)
        self._nodes = [(order.index(n), copy.deepcopy(graph.nodes[n]))
                       for n in order if n in ids]
        self._links = [(i, l) for i, l in enumerate(graph.links) if l.src in ids or l.dst in ids]
        graph.links = [l for l in graph.links if l.src not in ids and l.dst not in ids]
        # an input bound to a deleted node would dangle: it goes with the node
        self._inputs = [(i, item) for i, item in enumerate(graph.inputs.values()) if item.node in ids]
        graph.inputs = {k: v for k, v in graph.inputs.items() if v.node not in ids}
        for node_id in self.node_ids:
            del graph.nodes[node_id]

    def undo(self, graph):
        for index, node in self._nodes:         # ascending: each lands at its old index
            _insert_node(graph, index, copy.deepcopy(node))
        _insert_links(graph, self._links)
        for index, item in self._inputs:
            _insert_input(graph, index, item)


class Rename(Command):
    def __init__(self, old: str, new: str):
        self.old, self.new = old, new
        self.label = f"rename {old} to {new}"

    def do(self, graph):
        check_id(self.new)
        graph.rename(self.old, self.new)

    def undo(self, graph):
        graph.rename(self.new, self.old)


class MoveNodes(Command):
    """Set editor positions; consecutive moves of the same nodes merge into one step."""

    label = "move"
    structural = False

    def __init__(self, positions: dict[str, tuple[float, float]]):
        self.positions = {k: _pos(v) for k, v in positions.items()}
        self._old: dict[str, tuple[float, float]] = {}

    def do(self, graph):
        for node_id in self.positions:
            graph.node(node_id)
        self._old = {k: graph.nodes[k].pos for k in self.positions}
        for node_id, pos in self.positions.items():
            graph.move(node_id, pos)

    def undo(self, graph):
        for node_id, pos in self._old.items():
            graph.move(node_id, pos)

    def merge(self, other):
        if isinstance(other, MoveNodes) and set(other.positions) == set(self.positions):
            self.positions = dict(other.positions)
            return True
        return False


# --- params -------------------------------------------------------------------------------------

class SetParam(Command):
    """Set one param value; consecutive sets of the same param (typing) merge."""

    structural = False

    def __init__(self, node_id: str, name: str, value: Any):
        self.node_id, self.name, self.value = node_id, name, value
        self._old: Any = _MISSING
        self.label = f"set {node_id}.{name}"

    def do(self, graph):
        params = graph.node(self.node_id).params
        self._old = copy.deepcopy(params[self.name]) if self.name in params else _MISSING
        params[self.name] = copy.deepcopy(self.value)

    def undo(self, graph):
        params = graph.node(self.node_id).params
        if self._old is _MISSING:
            params.pop(self.name, None)         # it was appended last: order is restored
        else:
            params[self.name] = copy.deepcopy(self._old)

    def merge(self, other):
        if (isinstance(other, SetParam) and not isinstance(other, ResetParam)
                and not isinstance(self, ResetParam)
                and (other.node_id, other.name) == (self.node_id, self.name)):
            self.value = copy.deepcopy(other.value)
            return True
        return False


class ResetParam(SetParam):
    """Back to the type's default (the value is removed from the node)."""

    def __init__(self, node_id: str, name: str):
        super().__init__(node_id, name, None)
        self._index = -1
        self.label = f"reset {node_id}.{name}"

    def do(self, graph):
        params = graph.node(self.node_id).params
        keys = list(params)
        self._index = keys.index(self.name) if self.name in params else -1
        self._old = params.pop(self.name, _MISSING)

    def undo(self, graph):
        if self._old is _MISSING:
            return
        node = graph.node(self.node_id)
        items = list(node.params.items())
        items.insert(self._index, (self.name, self._old))
        node.params = dict(items)


class SetDescription(Command):
    structural = False
    label = "edit description"

    def __init__(self, text: str):
        self.text = text
        self._old = ""

    def do(self, graph):
        self._old, graph.description = graph.description, self.text

    def undo(self, graph):
        graph.description = self._old

    def merge(self, other):
        if isinstance(other, SetDescription):
            self.text = other.text
            return True
        return False


# --- inputs -------------------------------------------------------------------------------------
# Inputs do not change what a run computes (only what `--set` and sweeps may change), so they
# are not structural.

def _insert_input(graph: Graph, index: int, item: Input) -> None:
    graph.add_input(item.name, item.node, item.param, item.description, index)


class AddInput(Command):
    """Expose node.param as the graph input `name`."""

    structural = False

    def __init__(self, name: str, node_id: str, param: str, description: str = ""):
        self.item = Input(name, node_id, param, description)
        self.label = f"expose {node_id}.{param} as {name}"

    def do(self, graph):
        graph.node(self.item.node)
        graph.add_input(self.item.name, self.item.node, self.item.param, self.item.description)

    def undo(self, graph):
        graph.remove_input(self.item.name)


class RemoveInput(Command):
    structural = False

    def __init__(self, name: str):
        self.name = name
        self._removed: tuple[int, Input] | None = None
        self.label = f"remove input {name}"

    def do(self, graph):
        self._removed = graph.remove_input(self.name)

    def undo(self, graph):
        _insert_input(graph, *self._removed)


class RenameInput(Command):
    structural = False

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new
        self.label = f"rename input {old} to {new}"

    def do(self, graph):
        graph.rename_input(self.old, self.new)

    def undo(self, graph):
        graph.rename_input(self.new, self.old)


class SetInputDescription(Command):
    """Edit an input's description; typing in one merges into one step."""

    structural = False

    def __init__(self, name: str, text: str):
        self.name, self.text = name, text
        self._old = ""
        self.label = f"describe input {name}"

    def do(self, graph):
        old = graph.inputs.get(self.name)
        if old is None:
            raise GraphError(f"no input '{self.name}'")
        self._old = old.description
        graph.inputs[self.name] = Input(old.name, old.node, old.param, self.text)

    def undo(self, graph):
        old = graph.inputs[self.name]
        graph.inputs[self.name] = Input(old.name, old.node, old.param, self._old)

    def merge(self, other):
        if isinstance(other, SetInputDescription) and other.name == self.name:
            self.text = other.text
            return True
        return False


# --- links --------------------------------------------------------------------------------------

class Connect(Command):
    """Add a link; `replaces` are links removed first (the old link into a single input).
    The new link takes the place of the first replaced one in the link order."""

    def __init__(self, link: Link, replaces: Iterable[Link] = ()):
        self.link = link
        self.replaces = [l for l in replaces if l != link]
        self._removed: list[tuple[int, Link]] = []
        self.label = f"connect {link}"

    def do(self, graph):
        graph.node(self.link.src)
        graph.node(self.link.dst)
        if self.link in graph.links:
            raise GraphError(f"link {self.link} already exists")
        self._removed = _remove_links(graph, self.replaces)
        index = self._removed[0][0] if self._removed else None
        graph.connect(self.link.src, self.link.src_socket, self.link.dst, self.link.dst_socket, index)

    def undo(self, graph):
        graph.disconnect(self.link)
        _insert_links(graph, self._removed)


class Disconnect(Command):
    def __init__(self, links: Iterable[Link]):
        self.links = list(dict.fromkeys(links))
        self._removed: list[tuple[int, Link]] = []
        self.label = (f"disconnect {self.links[0]}" if len(self.links) == 1
                      else f"disconnect {len(self.links)} links")

    def do(self, graph):
        self._removed = _remove_links(graph, self.links)

    def undo(self, graph):
        _insert_links(graph, self._removed)


def connect_command(graph: Graph, registry, link: Link) -> tuple[Connect | None, str | None]:
    """A Connect for `link` (replacing the old link into a single input), or the reason
    why the link cannot be made."""
    from .connect import link_problem, replaced_links

    reason = link_problem(graph, registry, link)
    if reason:
        return None, reason
    return Connect(link, replaced_links(graph, registry, link)), None


# --- many at once -------------------------------------------------------------------------------

class PasteNodes(Command):
    """Add the nodes and links of a fragment graph under fresh ids (free in the target
    graph), shifted by `offset`. `ids` maps fragment ids to the ids used."""

    label = "paste"

    def __init__(self, fragment: Graph, offset=(40.0, 40.0)):
        self.fragment = fragment.copy()
        self.offset = _pos(offset)
        self.ids: dict[str, str] = {}
        self._links: list[Link] = []
        count = len(self.fragment)
        self.label = f"paste {count} node" + ("s" if count != 1 else "")

    @property
    def new_ids(self) -> list[str]:
        return list(self.ids.values())

    def do(self, graph):
        if not self.ids:
            taken = set(graph.nodes)
            for node in self.fragment:
                new = node.id if node.id not in taken else _free_id(node.id, taken)
                taken.add(new)
                self.ids[node.id] = new
        for node in self.fragment:
            new = self.ids[node.id]
            if new in graph.nodes:
                raise GraphError(f"a node with id '{new}' already exists")
        for node in self.fragment:
            graph.add_node(node.type, self.ids[node.id], copy.deepcopy(node.params),
                           (node.pos[0] + self.offset[0], node.pos[1] + self.offset[1]))
        self._links = []
        for link in self.fragment.links:
            if link.src in self.ids and link.dst in self.ids:
                self._links.append(graph.connect(self.ids[link.src], link.src_socket,
                                                 self.ids[link.dst], link.dst_socket))

    def undo(self, graph):
        for link in self._links:
            graph.disconnect(link)
        for new in self.ids.values():
            graph.remove_node(new)


def _free_id(base: str, taken: set[str]) -> str:
    """`base_2`, `base_3`, ... (a trailing `_N` of base is replaced, so copies of
    `blur_2` are `blur_3`, not `blur_2_2`)."""
    stem, _, number = base.rpartition("_")
    if not (stem and number.isdigit()):
        stem = base
    for n in itertools.count(2):
        candidate = f"{stem}_{n}"
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")


class Compound(Command):
    """Several commands as one step (delete nodes and links, paste and connect...)."""

    def __init__(self, commands: Iterable[Command], label: str | None = None):
        self.commands = list(commands)
        self.label = label or (self.commands[0].label if len(self.commands) == 1
                               else f"{len(self.commands)} edits")

    @property
    def structural(self):
        return any(c.structural for c in self.commands)

    def do(self, graph):
        done = []
        try:
            for command in self.commands:
                command.do(graph)
                done.append(command)
        except Exception:
            for command in reversed(done):     # all or nothing
                command.undo(graph)
            raise

    def undo(self, graph):
        for command in reversed(self.commands):
            command.undo(graph)


# --- groups and reroutes -------------------------------------------------------------------------

class AddGroup(Command):
    """A titled, coloured frame around nodes (editor layout only)."""

    structural = False

    def __init__(self, title: str, nodes: Iterable[str], color=(90, 110, 150)):
        self.group = Group(str(title), tuple(int(c) for c in color), list(dict.fromkeys(nodes)))
        self.label = f"group {title}"

    def do(self, graph):
        for node_id in self.group.nodes:
            graph.node(node_id)
        graph.groups.append(copy.deepcopy(self.group))

    def undo(self, graph):
        graph.groups.pop()


class RemoveGroup(Command):
    """Take a frame away (its nodes stay)."""

    structural = False

    def __init__(self, index: int):
        self.index = index
        self._group: Group | None = None
        self.label = "ungroup"

    def do(self, graph):
        if not 0 <= self.index < len(graph.groups):
            raise GraphError(f"no group {self.index}")
        self._group = graph.groups.pop(self.index)
        self.label = f"ungroup {self._group.title}"

    def undo(self, graph):
        graph.groups.insert(self.index, self._group)


class EditGroup(Command):
    """Change a frame's title, colour or nodes (None: unchanged)."""

    structural = False

    def __init__(self, index: int, title: str | None = None, color=None, nodes=None):
        self.index = index
        self.changes = {k: v for k, v in (("title", title), ("color", color), ("nodes", nodes))
                        if v is not None}
        if "color" in self.changes:
            self.changes["color"] = tuple(int(c) for c in self.changes["color"])
        if "nodes" in self.changes:
            self.changes["nodes"] = list(dict.fromkeys(self.changes["nodes"]))
        self._old: dict = {}
        self.label = "edit group"

    def do(self, graph):
        if not 0 <= self.index < len(graph.groups):
            raise GraphError(f"no group {self.index}")
        group = graph.groups[self.index]
        for node_id in self.changes.get("nodes", []):
            graph.node(node_id)
        self._old = {k: copy.deepcopy(getattr(group, k)) for k in self.changes}
        for key, value in self.changes.items():
            setattr(group, key, copy.deepcopy(value))
        self.label = f"edit group {group.title}"

    def undo(self, graph):
        group = graph.groups[self.index]
        for key, value in self._old.items():
            setattr(group, key, value)


def insert_reroute_command(graph: Graph, registry, link: Link, pos) -> Compound:
    """A reroute dot on `link`: src -> dot -> dst, keeping the link's place in the order."""
    socket = registry[graph.node(link.src).type].output(link.src_socket)
    if socket is None:
        raise GraphError(f"{link.src} has no output '{link.src_socket}'")
    type_name = reroute_type(socket.type)
    if registry.get(type_name) is None:
        raise GraphError(f"no reroute for {socket.type} links")
    dot = graph.unique_id(type_name)
    return Compound([AddNode(type_name, dot, pos=pos),
                     Connect(Link(dot, "out", link.dst, link.dst_socket), replaces=[link]),
                     Connect(Link(link.src, link.src_socket, dot, "in"))],
                    f"reroute {link}")


# --- history ------------------------------------------------------------------------------------

class History:
    """Undo/redo stacks over one graph, a dirty flag and a revision counter.

    - `execute(command)` does it and pushes it (clearing redo). A command that
      raises leaves the graph and history unchanged.
    - Consecutive commands that merge (typing in one param, moving the same nodes)
      become one undo step until `seal()` is called (the GUI seals when a widget
      loses focus).
    - `dirty` is True when the graph differs from the last `mark_saved()` (undoing
      back to the saved state makes it clean again).
    - `revision` grows on every change (do, undo, redo, reset): autosave and the
      running training compare it with the revision they last saw.
    - listeners are called as `listener(history, action, command)` after each change,
      action in do/undo/redo/reset/saved.
    """

    def __init__(self, graph: Graph | None = None, limit: int = 1000):
        self.graph = graph if graph is not None else Graph()
        self.limit = limit
        self.revision = 0
        self.listeners: list[Callable] = []
        self._undo: list[tuple[int, Command]] = []
        self._redo: list[tuple[int, Command]] = []
        self._serial = itertools.count(1)
        self._saved_state: int | None = 0
        self._sealed = True

    # --- state -----------------------------------------------------------------------------

    @property
    def state(self) -> int:
        """An id of the current content: the serial of the last done command (0 = start)."""
        return self._undo[-1][0] if self._undo else 0

    @property
    def dirty(self) -> bool:
        return self.state != self._saved_state

    def mark_saved(self) -> None:
        self._saved_state = self.state
        self._sealed = True        # typing on after a save is a new step
        self._notify("saved", None)

    def mark_dirty(self) -> None:
        """Unsaved whatever the stacks say (a restored recovery file, an imported config)."""
        self._saved_state = None
        self._notify("saved", None)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1][1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1][1].label if self._redo else None

    def seal(self) -> None:
        """The next command starts a new undo step, even if it could merge."""
        self._sealed = True

    # --- changes ---------------------------------------------------------------------------

    def execute(self, command: Command, merge: bool = True) -> Command:
        command.do(self.graph)
        top = self._undo[-1][1] if self._undo else None
        if merge and not self._sealed and not self._redo and top is not None and top.merge(command):
            self._undo[-1] = (next(self._serial), top)      # new content, new state id
            result = top
        else:
            self._undo.append((next(self._serial), command))
            if len(self._undo) > self.limit:
                dropped = self._undo.pop(0)
                if dropped[0] == self._saved_state:
                    self._saved_state = None
            result = command
        self._redo.clear()
        self._sealed = not merge
        self._changed("do", result)
        return result

    def undo(self) -> Command | None:
        if not self._undo:
            return None
        entry = self._undo.pop()
        entry[1].undo(self.graph)
        self._redo.append(entry)
        self._sealed = True
        self._changed("undo", entry[1])
        return entry[1]

    def redo(self) -> Command | None:
        if not self._redo:
            return None
        entry = self._redo.pop()
        entry[1].do(self.graph)
        self._undo.append(entry)
        self._sealed = True
        self._changed("redo", entry[1])
        return entry[1]

    def reset(self, graph: Graph, dirty: bool = False) -> None:
        """A new document: empty stacks, clean (or dirty, for a restored recovery)."""
        self.graph = graph
        self._undo.clear()
        self._redo.clear()
        self._saved_state = None if dirty else 0
        self._sealed = True
        self._changed("reset", None)

    # --- listeners -------------------------------------------------------------------------

    def add_listener(self, listener: Callable) -> None:
        self.listeners.append(listener)

    def _changed(self, action: str, command: Command | None) -> None:
        self.revision += 1
        self._notify(action, command)

    def _notify(self, action, command) -> None:
        for listener in list(self.listeners):
            listener(self, action, command)
