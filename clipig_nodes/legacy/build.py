"""Building the graph of one (merged) legacy config: the Builder and the top level.

Shape: one `pixels` and one `train` node; per target a `target` node fed by its
transform chain (`pixels.image -> t1 -> t2 -> target.image`), its features and
its constraints, linked to `train.targets` in order; the postproc entries as one
chain `pixels.image -> p1 -> ... -> train.postproc`.

Every node remembers the key path it came from (`node_loc`, `param_loc`), so
that checks and graph validation can point into the file. Problems never stop
the walk: everything wrong is reported in one pass. Targets and postproc
entries are built by sections.py.
"""

from __future__ import annotations

import re
from typing import Any

from ..graph.model import Graph, Node
from ..nodebase import ACTIVE, END, START
from ..values import ValueProblem, parse_value
from . import sections
from .convert import convert, convert_time, is_default
from .schema import (CLI_ONLY, INIT, INIT_IGNORED, LEGACY_INTERPOLATIONS, LEGACY_OPTIMIZERS,
                     LIST_KEYS, PIXELS, SCHEDULE, TOP_KEYS, TOP_LEVEL, TRAIN, constraint_types,
                     transform_types)
from .where import Loc, Report, describe, show, unknown

_SCHEDULE_PARAMS = {"active": ACTIVE, "start": START, "end": END}


def backticks(message: str) -> str:
    """Node check messages quote names 'like this'; legacy messages use `this`."""
    return re.sub(r"'([^'\s]+)'", r"`\1`", message)


class Builder:
    def __init__(self, registry, report: Report):
        self.registry, self.report = registry, report
        self.graph = Graph()
        self.node_loc: dict[str, Loc] = {}
        self.param_loc: dict[tuple[str, str], Loc] = {}
        self.chains: dict[str, list[str]] = {}      # target id -> its transforms, in order
        self.postproc: list[str] = []
        self.transforms = transform_types(registry)
        self.constraints = constraint_types(registry)
        self.pixels: Node | None = None
        self.train: Node | None = None

    # --- nodes and values ------------------------------------------------------------------------

    def new_node(self, type_name: str, loc: Loc, base: str | None = None) -> Node:
        node = self.graph.add_node(type_name, self.graph.unique_id(base or type_name))
        self.node_loc[node.id] = loc
        return node

    def drop(self, node: Node) -> None:
        self.graph.remove_node(node.id)
        self.node_loc.pop(node.id, None)

    def store(self, node: Node, name: str, value: Any, loc: Loc) -> None:
        """Keep a converted value, unless it equals the declaration's default."""
        param = self.registry[node.type].param(name)
        self.param_loc[(node.id, name)] = loc
        if is_default(param, value):
            node.params.pop(name, None)
        else:
            node.params[name] = value

    def value(self, node: Node, name: str, raw: Any, loc: Loc) -> bool:
        param = self.registry[node.type].param(name)
        ok, value = convert(self.report, loc, param, raw, node.id)
        if ok:
            self.store(node, name, value, loc)
        return ok

    def failed(self, node: Node, name: str | None = None) -> bool:
        return any(n == node.id and (name is None or p == name) and s == "error"
                   for n, p, s in self.report.about)

    def finish(self, node: Node, loc: Loc) -> None:
        """Required params (CLIPig fails at run time without them) and the type's own rules."""
        node_type = self.registry[node.type]
        missing = False
        for param in node_type.param_list:
            if param.required and param.name not in node.params and not self.failed(node, param.name):
                label = node_type.legacy_name or node.type
                self.report.error(loc, f"`{label}` needs `{param.name}`", node.id, param.name)
                missing = True
        if missing or self.failed(node):
            return
        try:
            values = {p.name: parse_value(p, node.params.get(p.name, p.default))
                      for p in node_type.param_list}
        except (ValueProblem, ValueError, TypeError, ArithmeticError):
            return
        for name, message in node_type.check(values):
            where = self.param_loc.get((node.id, name), loc.key(name)) if name else loc
            self.report.error(where, backticks(message), node.id, name)

    def link(self, src: str, src_socket: str, dst: str, dst_socket: str) -> None:
        self.graph.connect(src, src_socket, dst, dst_socket)

    # --- top level -------------------------------------------------------------------------------

    def build(self, config: dict, source: str | None = None) -> Graph:
        root = Loc(source=source)
        self.pixels = self.new_node(PIXELS, root)
        self.train = self.new_node(TRAIN, root)
        for key in LIST_KEYS:    # graph problems about these inputs point at the keys
            self.param_loc[(self.train.id, key)] = root.child(config, key)
        interpolation = None
        for key, raw in config.items():
            loc = root.child(config, key)
            if key in TOP_LEVEL:
                type_name, name = TOP_LEVEL[key]
                node = self.pixels if type_name == PIXELS else self.train
                if key == "optimizer":
                    self.optimizer(raw, loc)
                elif key == "interpolation":
                    interpolation = (raw, loc)
                else:
                    self.value(node, name, raw, loc)
            elif key == "init":
                self.init(raw, loc)
            elif key in CLI_ONLY:
                self.report.warn(loc, CLI_ONLY[key])
            elif key not in LIST_KEYS:
                self.report.error(loc, unknown("key", key, TOP_KEYS))
        if interpolation is not None:
            self.interpolation(*interpolation)
        targets = config.get("targets") or []
        for index, entry in enumerate(targets):
            sections.target(self, entry, root.child(config, "targets").child(targets, index))
        postproc = config.get("postproc") or []
        previous = self.pixels.id
        for index, entry in enumerate(postproc):
            loc = root.child(config, "postproc").child(postproc, index)
            for node in sections.postproc_entry(self, entry, loc):
                self.link(previous, "image", node.id, "image")
                previous = node.id
                self.postproc.append(node.id)
        if previous != self.pixels.id:
            self.link(previous, "image", self.train.id, "postproc")
        return self.graph

    def optimizer(self, raw, loc: Loc) -> None:
        if isinstance(raw, str) and raw in LEGACY_OPTIMIZERS:
            self.value(self.train, "optimizer", raw, loc)
        elif isinstance(raw, str) and raw.strip().lower() == "rmsprop":
            self.report.error(loc, f"unknown optimizer `{raw}` (CLIPig spells centered RMSprop "
                                   "`rmsprob`)", self.train.id, "optimizer")
        else:
            self.report.error(loc, unknown("optimizer", show(raw), LEGACY_OPTIMIZERS,
                                           "; CLIPig knows " + ", ".join(LEGACY_OPTIMIZERS)),
                              self.train.id, "optimizer")

    def interpolation(self, raw, loc: Loc) -> None:
        if isinstance(raw, str) and raw in LEGACY_INTERPOLATIONS:
            self.value(self.pixels, "interpolation", raw, loc)
            return
        allowed = ", ".join(LEGACY_INTERPOLATIONS)
        resolution = self.pixels.params.get("resolution")
        if isinstance(resolution, list) and any(isinstance(v, str) for v in resolution):
            self.report.error(loc, unknown("interpolation", show(raw), LEGACY_INTERPOLATIONS,
                                           f"; use {allowed}"), self.pixels.id, "interpolation")
        else:
            self.report.warn(loc, f"unknown interpolation `{show(raw)}`: the resolution never "
                                  f"changes, so CLIPig never uses it; ignored (use {allowed})",
                             self.pixels.id, "interpolation")

    def init(self, raw, loc: Loc) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.report.error(loc, f"`init` must be a mapping (init: {{mean: 0.5, std: 0.1}}), "
                                   f"got {describe(raw)}")
            return
        for key, value in raw.items():
            key_loc = loc.child(raw, key)
            if key in INIT:
                self.value(self.pixels, INIT[key][1], value, key_loc)
            elif key in INIT_IGNORED:
                if value is not None:
                    self.report.warn(key_loc, "init.image_tensor (raw pixels saved by CLIPig's "
                                              "GUI) is not imported; use init.image")
            else:
                self.report.error(key_loc, unknown("init key", key, (*INIT, *INIT_IGNORED)))

    # --- schedules -------------------------------------------------------------------------------

    def schedule(self, entry: dict, loc: Loc, keys=SCHEDULE, groups=None, node_id=None) -> dict:
        """active/start/end of an entry -> {param: (value, loc)}, CLIPig's time rules applied.
        A negative start means from the first epoch; a negative end, never: {"active": False}
        (features and constraints have no `active` in CLIPig: the caller leaves them out)."""
        out = {}
        for key in keys:
            if key not in entry:
                continue
            key_loc, raw, param = loc.child(entry, key), entry[key], _SCHEDULE_PARAMS[key]
            if key == "active" or raw is None:
                ok, value = convert(self.report, key_loc, param, raw, node_id)
            else:
                ok, value = convert_time(self.report, key_loc, param, raw, node_id, groups)
            if not ok:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                if key == "start":
                    self.report.warn(key_loc, f"negative start {show(raw)}: active from the "
                                              "first epoch", node_id, key)
                    value = None
                else:
                    what = "imported as active: false" if "active" in keys else "left out"
                    self.report.warn(key_loc, f"negative end {show(raw)}: never active; {what}",
                                     node_id, key)
                    out["active"] = (False, key_loc)
                    continue
            if key == "active" and "active" in out:
                continue      # a negative end already switched it off
            out[key] = (value, key_loc)
        return out

    def apply(self, node: Node, schedule: dict) -> None:
        for name, (value, loc) in schedule.items():
            self.store(node, name, value, loc)
