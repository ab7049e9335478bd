"""Versions of the graph file format and the migrations between them.

A graph file records the format version it was written in. Reading an older
file runs it through an ordered list of pure functions over the loaded dict,
each taking version N to N+1, so that the rest of the code only ever sees the
current shape. A migration never mutates its input (the caller may still need
it for error messages) and never raises anything but ProblemsError: a
malformed old file is a user's file, not a bug.

To change the format: append `migrate_N_to_N+1` to MIGRATIONS, add a fixture
file of version N to tests/fixtures, and VERSION follows by itself.

Migrations keep line numbers where they can: the containers they rebuild are
yamlio LineDict/LineList copies, so errors found later in a migrated file
still name the line the user wrote.
"""

from __future__ import annotations

import dataclasses

from ..problems import Problem, ProblemsError
from ..yamlio import LineDict, LineList, line_of

FIRST_VERSION = 1


# --- helpers that copy containers and keep their line numbers -------------------------------------

def _copy_dict(data: dict, drop=()) -> dict:
    """A shallow copy of a mapping without the keys in `drop`; a LineDict stays one."""
    if isinstance(data, LineDict):
        out = LineDict((k, v) for k, v in data.items() if k not in drop)
        out.key_lines = {k: v for k, v in data.key_lines.items() if k not in drop}
        out.line = data.line
        return out
    return {k: v for k, v in data.items() if k not in drop}


def _new_dict(like) -> dict:
    out = LineDict()
    out.key_lines = {}
    out.line = getattr(like, "line", None)
    return out


def _new_list(like) -> list:
    out = LineList()
    out.item_lines = []
    out.line = getattr(like, "line", None)
    return out


def _with(data: dict, key, value, line: int | None = None) -> dict:
    """A copy of `data` with `key` set to `value` (kept in its place, else appended)."""
    out = _copy_dict(data)
    out[key] = value
    if isinstance(out, LineDict) and key not in out.key_lines and line is not None:
        out.key_lines[key] = line
    return out


# --- the migrations --------------------------------------------------------------------------------

def migrate_1_to_2(data: dict) -> dict:
    """Version 1 (first draft): nodes were a list of mappings with an `id`, links were
    mappings `{from: a.image, to: b.image}`. Version 2 keys nodes by id (readable,
    and a duplicate id becomes a YAML duplicate key) and writes links as
    `a.image -> b.image` strings. Order of nodes and links is kept."""
    problems: list[Problem] = []

    def problem(message, path, line):
        problems.append(Problem(message, path=path, line=line))

    old_nodes = data.get("nodes")
    nodes = _new_dict(old_nodes)
    if isinstance(old_nodes, list):
        for i, entry in enumerate(old_nodes):
            path, line = f"nodes[{i}]", line_of(old_nodes, i)
            if not isinstance(entry, dict):
                problem("a node is a mapping with an id and a type", path, line)
                continue
            node_id = entry.get("id")
            if node_id is None:
                problem("this node has no id", path, line)
            elif not isinstance(node_id, str):
                problem(f"a node id is text, got {node_id!r}", f"{path}.id", line_of(entry, "id") or line)
            elif node_id in nodes:
                problem(f"duplicate node id '{node_id}'", f"{path}.id", line_of(entry, "id") or line)
            else:
                nodes[node_id] = _copy_dict(entry, drop=("id",))
                nodes.key_lines[node_id] = line_of(entry, "id") or line
    elif old_nodes is not None:
        problem("in a version 1 file, nodes is a list of mappings, each with an id",
                "nodes", line_of(data, "nodes"))

    old_links = data.get("links")
    links = _new_list(old_links)
    if isinstance(old_links, list):
        for i, entry in enumerate(old_links):
            path, line = f"links[{i}]", line_of(old_links, i)
            ends = [entry.get(key) for key in ("from", "to")] if isinstance(entry, dict) else None
            if ends is None or not all(isinstance(end, str) for end in ends):
                problem("in a version 1 file, a link is a mapping {from: node.output, to: node.input}",
                        path, line)
                continue
            links.append(f"{ends[0]} -> {ends[1]}")
            links.item_lines.append(line)
    elif old_links is not None:
        problem("in a version 1 file, links is a list of {from: ..., to: ...} mappings",
                "links", line_of(data, "links"))

    if problems:
        raise ProblemsError(problems, "cannot read this version 1 graph")
    out = _with(data, "nodes", nodes)
    return _with(out, "links", links)


def migrate_2_to_3(data: dict) -> dict:
    """Version 3 adds the optional `inputs` section (named template inputs bound to node
    params). A version 2 file has none, so its content reads unchanged."""
    return _copy_dict(data)


MIGRATIONS = [migrate_1_to_2, migrate_2_to_3]        # MIGRATIONS[i] takes version FIRST_VERSION + i one step up
VERSION = FIRST_VERSION + len(MIGRATIONS)


def migrate(data: dict, source: str | None = None) -> dict:
    """Bring a loaded graph document to VERSION; returns a new dict (or `data` itself
    when it is current). Raises ProblemsError (with `source` set) when the version is
    missing, not an int, below 1, newer than this program, or a migration fails."""

    def fail(message, problems=None):
        problems = problems or [Problem(message, path="version", line=line_of(data, "version"))]
        raise ProblemsError([dataclasses.replace(p, source=source) for p in problems],
                            "cannot read this graph")

    if not isinstance(data, dict):
        fail("a graph file is a mapping (format, version, nodes, links)")
    if "version" not in data:
        fail(f"no 'version': a graph file says which format version it was written in "
             f"(this program writes {VERSION})")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        fail(f"'version' is a whole number, got {version!r}")
    if version < FIRST_VERSION:
        fail(f"there is no format version {version}; versions start at {FIRST_VERSION}")
    if version > VERSION:
        fail(f"written by a newer clipig-nodes (format version {version}); "
             f"this one reads versions {FIRST_VERSION} to {VERSION}")
    for step in MIGRATIONS[version - FIRST_VERSION:]:
        try:
            data = step(data)
        except ProblemsError as exc:
            fail("", exc.problems)
        version += 1
        data = _with(data, "version", version)
    return data
