"""Graph files (`*.graph.yaml`): the readable, diffable way a graph is saved.

```yaml
format: clipig-nodes-graph
version: 3
description: Strawberries on grass    # optional
inputs:                               # optional: the template's named arguments, in order
  prompt: {param: text.text, description: What to paint}
  seed: train.seed                    # short form: no description
nodes:                                # id -> node, in order
  pixels:
    type: pixels
    pos: [40, 80]                     # editor position
    params: {resolution: [512, 512]}  # only values that differ from the defaults
links:                                # ordered: the order of a multi input
  - pixels.image -> random_shift.image
groups:                               # optional: the editor's titled frames around nodes
  - {title: views, color: [60, 110, 170], nodes: [random_shift, center_crop]}
```

Loading checks structure only: what a node type or param means is the job of
`graph.validate`, so a file using unknown node types still opens (and can be
fixed in the editor). Every structural problem is collected and raised at once
as one ProblemsError whose problems name the file, line and key path; nothing
else ever escapes, because these files come from users, templates and PNGs.
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
from pathlib import Path

from ..problems import Problem, ProblemsError
from ..yamlio import (MAX_BYTES, LineDict, NotRegularFile, YamlError, dump_yaml, line_of,
                      load_yaml, open_regular, read_text, write_atomic)
from .migrations import VERSION, migrate
from .model import ID_PATTERN, Graph, GraphError, Group, Input, Link, check_id

FORMAT = "clipig-nodes-graph"
SUFFIX = ".graph.yaml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

TOP_KEYS = ("format", "version", "description", "inputs", "nodes", "links", "groups")
GROUP_KEYS = ("title", "color", "nodes")
NODE_KEYS = ("type", "pos", "params")
INPUT_KEYS = ("param", "description")
MAX_DEPTH = 32            # nesting of a param value; deeper is not a param, it is an attack or a bug
MAX_VALUES = 100_000      # scalars in one file; YAML aliases can make a small file huge

_FORMAT_LINE = re.compile(rf"^format:\s*['\"]?{re.escape(FORMAT)}['\"]?\s*(#.*)?$", re.MULTILINE)


# --- Graph -> dict -> text --------------------------------------------------------------------------

def graph_to_dict(graph: Graph) -> dict:
    """Plain dicts/lists in file order. Raises ProblemsError for values a file cannot
    hold (objects that are not plain data, positions that are not finite)."""
    problems: list[Problem] = []
    budget = [MAX_VALUES * 10]
    nodes = {}
    for node in graph:
        path = f"nodes.{node.id}"
        out = {"type": node.type, "pos": [_number(v) for v in node.pos]}
        if len(node.pos) != 2 or not all(_finite(v) for v in node.pos):
            problems.append(Problem(f"position must be two finite numbers, got {node.pos!r}",
                                    node=node.id, path=f"{path}.pos"))
        if node.params:
            out["params"] = _params(node.params, f"{path}.params", problems, budget)
        nodes[node.id] = out
    if problems:
        raise ProblemsError(problems, "cannot save this graph")
    data = {"format": FORMAT, "version": VERSION}
    if graph.description:
        data["description"] = graph.description
    if graph.inputs:
        data["inputs"] = {name: (item.target if not item.description
                                 else {"param": item.target, "description": item.description})
                          for name, item in graph.inputs.items()}
    data["nodes"] = nodes
    data["links"] = [str(link) for link in graph.links]
    if graph.groups:
        # members removed from the graph are kept by the model (for undo), not written
        data["groups"] = [{"title": g.title, "color": [int(c) for c in g.color],
                           "nodes": [n for n in g.nodes if n in graph.nodes]}
                          for g in graph.groups]
    return data


def dumps_graph(graph: Graph) -> str:
    return dump_yaml(graph_to_dict(graph))


def save_graph(graph: Graph, path) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    text = dumps_graph(graph)
    write_atomic(path, text if text.endswith("\n") else text + "\n")


def _number(value):
    """Whole numbers as ints (`pos: [40, 80]`, not `[40.0, 80.0]`)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value




def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- text -> dict -> Graph --------------------------------------------------------------------------

def loads_graph(text: str, source: str | None = None) -> Graph:
    """Parse graph text (any known version). Raises ProblemsError only."""
    data, duplicates = _parse(text, source)
    problems = _duplicate_problems(data, duplicates, source)
    graph, more = _build(data, source, None)
    problems += more
    if problems:
        raise ProblemsError(problems, f"cannot load {source or 'graph'}")
    return graph


def load_graph(path) -> Graph:
    try:
        text = read_text(path)
    except YamlError as exc:
        raise ProblemsError([_file_problem(path, exc)], "cannot load graph") from None
    return loads_graph(text, str(path))


def graph_from_dict(data, source: str | None = None, lines=None) -> Graph:
    """Build a Graph from a loaded document (migrated first when older).

    Line numbers come from the yamlio containers in `data`; `lines`, an optional
    mapping of problem path -> line, fills in where `data` is plain (built in code).
    Raises ProblemsError with every problem found, never anything else.
    """
    graph, problems = _build(data, source, lines)
    if problems:
        raise ProblemsError(problems, f"cannot load {source or 'graph'}")
    return graph


def is_graph_document(data) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT


def detect_kind(path) -> str:
    """'png', 'graph' or 'legacy' (a CLIPig config), by content, not by name.

    A YAML file that does not parse but says `format: clipig-nodes-graph` on a
    line of its own counts as a graph, so that the graph loader reports its error
    instead of the legacy importer. Raises ProblemsError when the file cannot be read.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError
        with open_regular(path) as f:      # a FIFO or device would block or never end
            raw = f.read(len(PNG_SIGNATURE))
            if raw == PNG_SIGNATURE:
                return "png"
            raw += f.read(MAX_BYTES + 1 - len(raw))
            if len(raw) > MAX_BYTES:
                return "legacy"          # the reader reports it as too large
    except FileNotFoundError:
        raise ProblemsError([Problem("no such file", source=str(path))], "cannot open") from None
    except IsADirectoryError:
        raise ProblemsError([Problem("is a folder, not a file", source=str(path))], "cannot open") from None
    except NotRegularFile as exc:
        raise ProblemsError([Problem(exc.strerror, source=str(path))], "cannot open") from None
    except OSError as exc:
        raise ProblemsError([Problem(f"cannot read: {exc.strerror or exc}", source=str(path))],
                            "cannot open") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "legacy"
    try:
        data, _ = _parse(text, str(path))
    except ProblemsError:
        return "graph" if _FORMAT_LINE.search(text) else "legacy"
    return "graph" if is_graph_document(data) else "legacy"


def _parse(text: str, source):
    """load_yaml, with every failure as a ProblemsError."""
    try:
        return load_yaml(text)
    except YamlError as exc:
        raise ProblemsError([Problem(str(exc), source=source, line=exc.line)], "cannot load") from None
    except Exception as exc:   # noqa: BLE001 - user input must end as a problem, never a traceback
        # PyYAML raises plain ValueError/KeyError/AttributeError for values like `2001-13-45`,
        # `!!int x` or `!!bool maybe`, and ReaderError for control characters outside load_yaml's try
        raise ProblemsError([Problem(f"invalid YAML: {exc}", source=source)], "cannot load") from None


def _file_problem(path, exc: YamlError) -> Problem:
    message, prefix = str(exc), f"{path}: "
    return Problem(message[len(prefix):] if message.startswith(prefix) else message, source=str(path))


def _duplicate_problems(data, duplicates, source) -> list[Problem]:
    """A duplicate key means a value was silently dropped: always an error. Under
    `nodes` it is two nodes with one id, the mistake worth naming as such."""
    nodes = data.get("nodes") if isinstance(data, dict) else None
    problems = []
    for key, line in duplicates:
        if _is_node_id(nodes, key, line):
            problems.append(Problem(f"duplicate node id '{key}': every node needs its own id",
                                    path=f"nodes.{key}", source=source, line=line))
        else:
            problems.append(Problem(f"duplicate key '{key}': the earlier value would be lost",
                                    source=source, line=line))
    return problems


def _is_node_id(nodes, key: str, line: int) -> bool:
    """Whether the duplicate `key` seen at `line` is in the `nodes` mapping: yamlio
    keeps the line of the last occurrence, so it lies between the mapping's start
    and that line."""
    if not isinstance(nodes, LineDict):
        return False
    return any(str(k) == key and (nodes.line or 0) <= line <= last
               for k, last in nodes.key_lines.items())


class _Checker:
    """Collects problems while walking a document; knows where each path is."""

    def __init__(self, source, lines):
        self.source, self.lines = source, lines or {}
        self.problems: list[Problem] = []
        self.budget = [MAX_VALUES]

    def add(self, message, path, container=None, key=None):
        line = line_of(container, key) if container is not None else None
        if line is None and path in self.lines:
            line = self.lines[path]
        if line is None and container is not None:
            line = getattr(container, "line", None)
        self.problems.append(Problem(message, path=path, source=self.source, line=line))


def _build(data, source, lines) -> tuple[Graph, list[Problem]]:
    check = _Checker(source, lines)
    graph = Graph()
    if not isinstance(data, dict):
        what = "the file is empty" if data is None else f"a graph file is a mapping, got {_kind(data)}"
        check.add(what, None)
        return graph, check.problems

    for key in data:
        if key not in TOP_KEYS:
            check.add(f"unknown key {_short(key)} (a graph file has {', '.join(TOP_KEYS)})",
                      str(key), data, key)
    if "format" not in data:
        check.add(f"no 'format: {FORMAT}': is this a graph file?", "format", data)
    elif data["format"] != FORMAT:
        check.add(f"format is {_short(data['format'])}, expected '{FORMAT}'", "format", data, "format")
    try:
        data = migrate(data, source)
    except ProblemsError as exc:
        known = check.lines
        return graph, check.problems + [
            dataclasses.replace(p, line=known[p.path]) if p.line is None and p.path in known else p
            for p in exc.problems]

    description = data.get("description")
    if isinstance(description, str):
        graph.description = description
    elif description is not None:
        check.add("description is text", "description", data, "description")

    nodes = _section(check, data, "nodes", dict, "a mapping of node id -> node")
    for node_id, node in nodes.items():
        _add_node(graph, check, nodes, node_id, node)
    links = _section(check, data, "links", list, "a list of 'node.output -> node.input'")
    for i, text in enumerate(links):
        _add_link(graph, check, links, i, text, nodes)
    inputs = _section(check, data, "inputs", dict, "a mapping of name -> node.param")
    for name, entry in inputs.items():
        _add_input(graph, check, inputs, name, entry)
    groups = _section(check, data, "groups", list, "a list of {title, color, nodes}")
    for i, entry in enumerate(groups):
        _add_group(graph, check, groups, i, entry)
    return graph, check.problems


def _add_group(graph, check, groups, i, entry) -> None:
    """`{title: text, color: [r, g, b], nodes: [id, ...]}` (color 0-255, optional)."""
    path = f"groups[{i}]"
    if not isinstance(entry, dict):
        check.add(f"a group is a mapping {{title, color, nodes}}, got {_kind(entry)}",
                  path, groups, i)
        return
    for key in entry:
        if key not in GROUP_KEYS:
            check.add(f"unknown key {_short(key)} (a group has {', '.join(GROUP_KEYS)})",
                      f"{path}.{key}", entry, key)
            return
    title, color, members = entry.get("title", ""), entry.get("color"), entry.get("nodes", [])
    if not isinstance(title, str):
        check.add("title is text", f"{path}.title", entry, "title")
        return
    if color is None:
        color = Group.__dataclass_fields__["color"].default
    elif not (isinstance(color, list) and len(color) == 3 and all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)):
        check.add(f"color is three whole numbers 0-255, got {_short(color)}", f"{path}.color",
                  entry, "color")
        return
    if not isinstance(members, list) or not all(isinstance(n, str) for n in members):
        check.add("nodes is a list of node ids", f"{path}.nodes", entry, "nodes")
        return
    for n in members:
        if n not in graph.nodes:
            check.add(f"no node '{n}' (a group frames nodes of this graph)", f"{path}.nodes",
                      entry, "nodes")
            return
    graph.groups.append(Group(title, tuple(color), list(dict.fromkeys(members))))


def _section(check, data: dict, key: str, kind: type, what: str):
    """data[key] when it is of `kind`; missing: empty; anything else: a problem, and empty."""
    value = data.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        check.add(f"{key} is {what}, got {_kind(value)}", key, data, key)
        return kind()
    return value


def _add_node(graph, check, nodes, node_id, node) -> None:
    path = f"nodes.{node_id}"
    ok = True
    try:
        check_id(node_id)
        if not ID_PATTERN.fullmatch(node_id):   # the pattern's `$` lets a final newline through
            raise GraphError(f"{node_id!r} is not a valid node id")
    except GraphError as exc:
        check.add(str(exc), path, nodes, node_id)
        ok = False
    if not isinstance(node, dict):
        check.add(f"a node is a mapping with a type, got {_kind(node)}", path, nodes, node_id)
        return
    for key in node:
        if key not in NODE_KEYS:
            check.add(f"unknown key {_short(key)} (a node has {', '.join(NODE_KEYS)})",
                      f"{path}.{key}", node, key)
            ok = False
    type_name = node.get("type")
    if not isinstance(type_name, str) or not type_name.strip():
        what = "no type" if type_name is None else f"a node type is text, got {_kind(type_name)}"
        check.add(what, f"{path}.type", node, "type" if "type" in node else None)
        ok = False
    pos = node.get("pos")
    pos = (0, 0) if pos is None else pos
    if not (isinstance(pos, list | tuple) and len(pos) == 2 and all(_finite(v) for v in pos)):
        check.add(f"pos is two finite numbers [x, y], got {_short(pos)}", f"{path}.pos", node, "pos")
        ok = False
    params = node.get("params")
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        check.add(f"params is a mapping of name -> value, got {_kind(params)}",
                  f"{path}.params", node, "params")
        ok = False
        params = {}
    n = len(check.problems)
    params = _params(params, f"{path}.params", check, check.budget)
    ok = ok and len(check.problems) == n
    if ok and isinstance(node_id, str):
        graph.add_node(type_name, node_id, params, tuple(pos))


def _add_link(graph, check, links, i, text, nodes) -> None:
    path = f"links[{i}]"
    if not isinstance(text, str):
        check.add(f"a link is written 'node.output -> node.input', got {_kind(text)}", path, links, i)
        return
    try:
        link = Link.parse(text)
    except GraphError as exc:
        check.add(str(exc), path, links, i)
        return
    missing = [end for end in (link.src, link.dst) if end not in graph]
    for end in missing:
        if end not in nodes:        # a node that is there but broken was reported already
            check.add(f"link {text!r}: there is no node '{end}'", path, links, i)
    if missing:
        return
    if link in graph.links:
        check.add(f"duplicate link {link}", path, links, i)
        return
    graph.connect(link.src, link.src_socket, link.dst, link.dst_socket)


def _add_input(graph, check, inputs, name, entry) -> None:
    """`name: node.param` or `name: {param: node.param, description: text}`. Whether the
    node and param exist is validation's job (graph.inputs), as for node types."""
    path = f"inputs.{name}"
    if isinstance(entry, dict):
        for key in entry:
            if key not in INPUT_KEYS:
                check.add(f"unknown key {_short(key)} (an input has {', '.join(INPUT_KEYS)})",
                          f"{path}.{key}", entry, key)
                return
        target, description = entry.get("param"), entry.get("description") or ""
        if not isinstance(description, str):
            check.add("description is text", f"{path}.description", entry, "description")
            return
    else:
        target, description = entry, ""
    try:
        node, param = Input.split_target(target)
        graph.add_input(name, node, param, description)
    except GraphError as exc:
        check.add(str(exc), path, inputs, name)


# --- plain values ----------------------------------------------------------------------------------

def _params(params: dict, path: str, check, budget) -> dict:
    """A plain copy of a params mapping; problems go to `check` (a _Checker or a list)."""
    out = {}
    for name, value in params.items():
        if not isinstance(name, str):
            _report(check, f"a param name is text, got {_short(name)} (quote it)", path, params, name)
            continue
        out[name] = _plain(value, f"{path}.{name}", check, budget, params, name, 0)
    return out


def _plain(value, path, check, budget, container, key, depth):
    """Copy a value as plain YAML data (None/bool/int/float/str, lists, text-keyed
    mappings); anything else (dates, bytes, sets, objects) is reported. Limits on
    depth and size keep recursive or alias-bombed input from hanging the loader."""
    budget[0] -= 1
    if budget[0] == 0:
        _report(check, "too much data: a graph file holds a few KB", path, container, key)
    if budget[0] <= 0:
        return None
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if depth >= MAX_DEPTH:
        _report(check, f"nested more than {MAX_DEPTH} levels deep", path, container, key)
        return None
    if isinstance(value, list):
        return [_plain(v, f"{path}[{i}]", check, budget, value, i, depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                _report(check, f"a key is text, got {_short(k)} (quote it)", path, value, k)
            else:
                out[k] = _plain(v, f"{path}.{k}", check, budget, value, k, depth + 1)
        return out
    what = _FOREIGN.get(type(value).__name__, f"a {type(value).__name__} value")
    _report(check, f"{what} is not allowed here: values are numbers, text, true/false, null, "
                   "lists and mappings", path, container, key)
    return None


_DATE = "a date (quote it to keep it as text)"
_FOREIGN = {"date": _DATE, "datetime": _DATE,
            "bytes": "binary data", "set": "a set", "tuple": "an ordered pair list (!!omap, !!pairs)"}


def _report(check, message, path, container, key):
    if isinstance(check, _Checker):
        check.add(message, path, container, key)
    else:
        check.append(Problem(message, path=path))


def _kind(value) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", type(None): "nothing"}
    for cls, name in names.items():
        if isinstance(value, cls):
            return name if cls is not str else f"text {_short(value)}"
    return f"{type(value).__name__} {_short(value)}"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 40, 40


def _short(value) -> str:
    """repr() that stays short (and fast) for huge or recursive values."""
    return _REPR.repr(value)
