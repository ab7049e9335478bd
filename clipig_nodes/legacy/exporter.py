"""Graph -> the YAML CLIPig reads (LEGACY_FORMAT.md Appendix B).

Written: only values that differ from the defaults (CLIPig fills those in),
lists as YAML lists (safe for expressions with spaces), real booleans, times as
stored (a ratio 1.0 stays `1.0`), single-param transforms as `name: value`,
the others as mappings, constraints as `{name: {...}}`, one postproc entry per
node (with its active/start/end).

What legacy YAML cannot express is said in WARNING problems naming the node,
together with what was written instead. A graph legacy cannot represent at all
(not exactly one source and one train node, a target without an image chain
from the source) gives ERROR problems and no data. A source other than `pixels`
is written as pixels with the params both share, with a warning naming the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..graph.chains import chain_into
from ..graph.model import Graph
from ..problems import ERROR, WARNING, Problem
from ..registry import (CONSTRAINT_CAT, FEATURE_CAT, MODEL_CAT, SOURCE, TRANSFORM,
                        default_registry)
from ..values import ValueProblem, parse_value, to_plain
from ..yamlio import dump_yaml
from ..graph.reroute import splice_reroutes
from .convert import is_default
from .schema import (CONSTRAINT_COMMON, FEATURE_PARAMS, IMAGE_FEATURE, INIT, PIXELS, TARGET,
                     TARGET_PARAMS, TEXT_FEATURE, TOP_LEVEL, TRAIN, own_params)


@dataclass
class ExportResult:
    data: dict | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None and not any(p.is_error for p in self.problems)


def export_legacy(graph: Graph, registry=None) -> ExportResult:
    exporter = _Exporter(splice_reroutes(graph), registry or default_registry())
    if graph.groups:
        exporter.problem(None, f"{len(graph.groups)} group frame(s) left out: CLIPig YAML has no "
                               "editor layout")
    try:
        data = exporter.run()
    except Exception as exc:  # never a traceback for the user
        exporter.problem(None, f"internal error in the legacy exporter ({type(exc).__name__}: "
                               f"{exc}); please report this graph", severity=ERROR)
        data = None
    return ExportResult(data, exporter.problems)


def dumps_legacy(graph: Graph, registry=None) -> tuple[str | None, list[Problem]]:
    """The YAML text (None when the graph cannot be written) and the problems."""
    result = export_legacy(graph, registry)
    if result.data is None:
        return None, result.problems
    header = "# CLIPig config, exported by clipig-nodes\n"
    return header + dump_yaml(result.data), result.problems


class _Exporter:
    def __init__(self, graph: Graph, registry):
        self.graph, self.registry = graph, registry
        self.problems: list[Problem] = []
        self.written: dict[str, list[str]] = {}     # node id -> where it was written
        self.expressed: set = set()                 # links the YAML expresses
        self.skipped: set[str] = set()              # nodes already explained

    def problem(self, node, message, param=None, severity=WARNING):
        self.problems.append(Problem(message, severity, node=node, param=param))

    # --- values ----------------------------------------------------------------------------------

    def value(self, node, name: str, with_default: bool = False) -> Any:
        """A param as canonical plain data; None for the default (unless with_default)."""
        node_type = self.registry[node.type]
        param = node_type.param(name)
        raw = node.params.get(name)
        try:
            value = to_plain(parse_value(param, raw))
        except (ValueProblem, ValueError, TypeError, ArithmeticError) as exc:
            self.problem(node.id, f"invalid value ({exc}); not exported", name)
            value = None
        if value is None and with_default:
            return param.default
        return None if is_default(param, value) and not with_default else value

    def params(self, node, names) -> dict:
        out = {}
        for name in names:
            value = self.value(node, name)
            if value is not None:
                out[name] = value
        return out

    # --- whole graph -----------------------------------------------------------------------------

    def run(self) -> dict | None:
        pixels = [n for n in self.graph if self.category(n) == SOURCE]
        trains = [n for n in self.graph if n.type == TRAIN]
        for nodes, what in ((pixels, "pixels"), (trains, "train")):
            if len(nodes) != 1:
                self.problem(nodes[1].id if len(nodes) > 1 else None,
                             f"legacy YAML needs exactly one `{what}` node, the graph has "
                             f"{len(nodes)}", severity=ERROR)
        if len(pixels) != 1 or len(trains) != 1:
            return None
        self.pixels, self.train = pixels[0], trains[0]
        self.other_source()
        data = self.top_level()
        targets = [t for t in (self.target(link) for link in
                               self.graph.links_into(self.train.id, "targets")) if t is not None]
        if any(p.is_error for p in self.problems):
            return None
        if targets:
            data["targets"] = targets
        postproc = self.postproc()
        if postproc:
            data["postproc"] = postproc
        self.leftovers()
        return data

    def category(self, node) -> str | None:
        node_type = self.registry.get(node.type)
        return node_type.category if node_type else None

    def other_source(self) -> None:
        """CLIPig trains plain pixels only: another source is written as pixels with the
        params both share, and the rest is named."""
        if self.pixels.type == PIXELS:
            return
        pixels_type = self.registry[PIXELS]
        own = [p.name for p in self.registry[self.pixels.type].param_list
               if pixels_type.param(p.name) is None and self.value(self.pixels, p.name) is not None]
        lost = f" ({', '.join(own)} not exported)" if own else ""
        self.problem(self.pixels.id, f"CLIPig knows only plain pixels: the {self.pixels.type} "
                                     f"source is written as pixels with the params they share"
                                     f"{lost}; the image will look different")

    def source_has(self, name: str) -> bool:
        return self.registry[self.pixels.type].param(name) is not None

    def top_level(self) -> dict:
        data, init = {}, {}
        for key, (type_name, name) in TOP_LEVEL.items():
            node = self.pixels if type_name == PIXELS else self.train
            if node is self.pixels and not self.source_has(name):
                continue
            value = self.value(node, name)
            if key == "optimizer" and value == "rmsprop":
                self.problem(node.id, "CLIPig has no plain RMSprop optimizer; written as "
                                      "`rmsprob` (CLIPig's centered RMSprop, momentum 0.1)", name)
                value = "rmsprob"
            if value is not None:
                data[key] = value
        for key, (_, name) in INIT.items():
            if not self.source_has(name):
                continue
            value = self.value(self.pixels, name)
            if value is not None:
                init[key] = value
        if init:
            data["init"] = init
        if self.train.params.get("seed") is not None:
            self.problem(self.train.id, "CLIPig has no random seed; not exported", "seed")
        self.expressed.update(self.graph.links_into(self.train.id, "targets"))
        return data

    # --- targets ---------------------------------------------------------------------------------

    def target(self, link) -> dict | None:
        node = self.graph.nodes.get(link.src)
        if node is None or node.type != TARGET:
            self.problem(link.src, "only target nodes can feed train.targets in legacy YAML; "
                                   "not exported")
            return None
        chain = chain_into(self.graph, self.registry, node.id, "image")
        if not chain.complete:
            self.problem(node.id, "the target has no image chain from the pixels (it breaks at "
                                  f"`{chain.broken_at}`): legacy YAML cannot express it",
                         "image", severity=ERROR)
            return None
        self.used(node.id, "train")
        entry = self.params(node, TARGET_PARAMS)
        previous = self.pixels.id
        transforms = []
        for node_id in chain.nodes:
            self.expressed.update(l for l in self.graph.links_into(node_id, "image")
                                  if l.src == previous)
            previous = node_id
            transform = self.chain_transform(self.graph.nodes[node_id], node.id)
            if transform is not None:
                transforms.append(transform)
        self.expressed.update(l for l in self.graph.links_into(node.id, "image") if l.src == previous)
        features = [f for f in (self.feature(l, node.id) for l in
                                self.graph.links_into(node.id, "features")) if f is not None]
        constraints = [c for c in (self.constraint(l, node.id) for l in
                                   self.graph.links_into(node.id, "constraints")) if c is not None]
        for key, items in (("features", features), ("transforms", transforms),
                           ("constraints", constraints)):
            if items:
                entry[key] = items
        return entry

    def used(self, node_id: str, where: str) -> None:
        self.written.setdefault(node_id, []).append(where)

    def chain_transform(self, node, target_id: str) -> dict | None:
        node_type = self.registry[node.type]
        if node_type.category != TRANSFORM:
            self.problem(node.id, f"a {node.type} node inside an image chain cannot be written as "
                                  "legacy YAML; left out")
            return None
        self.used(node.id, target_id)
        if self.value(node, "active", with_default=True) is False:
            self.note_once(node.id, "inactive transform: left out (as it would not run)")
            return None
        if self.value(node, "start") is not None or self.value(node, "end") is not None:
            self.note_once(node.id, "CLIPig transforms have no start/end: written without its "
                                    "schedule, so it is always on (use an expression instead)")
        return self.transform_entry(node, node_type)

    def note_once(self, node_id: str, message: str, param=None) -> None:
        if (node_id, message) not in self.skipped:
            self.skipped.add((node_id, message))
            self.problem(node_id, message, param)

    def transform_entry(self, node, node_type) -> dict | None:
        name = node_type.legacy_name
        if not name:
            self.note_once(node.id, f"CLIPig has no {node.type} transform; left out (what "
                                    "CLIP sees will differ)")
            return None
        if node_type.legacy_value:
            value = self.value(node, node_type.legacy_value, with_default=True)
            if value is None:
                self.note_once(node.id, f"`{node_type.legacy_value}` has no value: left out",
                               node_type.legacy_value)
                return None
            return {name: value}
        missing = [p.name for p in own_params(node_type) if p.required
                   and self.value(node, p.name, with_default=True) is None]
        if missing:
            self.note_once(node.id, f"`{missing[0]}` has no value: left out", missing[0])
            return None
        return {name: self.params(node, [p.name for p in own_params(node_type)])}

    def feature(self, link, target_id: str) -> dict | None:
        node = self.graph.nodes.get(link.src)
        node_type = self.registry.get(node.type) if node else None
        if node_type is None or node_type.category != FEATURE_CAT or \
                node.type not in (TEXT_FEATURE, IMAGE_FEATURE):
            self.problem(link.src, "legacy YAML knows only text and image features; not exported")
            return None
        self.expressed.add(link)
        self.used(node.id, target_id)
        if self.value(node, "active", with_default=True) is False:
            self.note_once(node.id, "inactive feature: left out (as it would not count)")
            return None
        key = "text" if node.type == TEXT_FEATURE else "image"
        content = self.value(node, key, with_default=True)
        if not content:
            self.note_once(node.id, f"`{key}` is empty: left out", key)
            return None
        return {key: content, **self.params(node, FEATURE_PARAMS)}

    def constraint(self, link, target_id: str) -> dict | None:
        node = self.graph.nodes.get(link.src)
        node_type = self.registry.get(node.type) if node else None
        if node_type is None or node_type.category != CONSTRAINT_CAT or not node_type.legacy_name:
            self.problem(link.src, "not a CLIPig constraint; not exported")
            return None
        self.expressed.add(link)
        self.used(node.id, target_id)
        if self.value(node, "active", with_default=True) is False:
            self.note_once(node.id, "inactive constraint: left out (as it would not count)")
            return None
        names = [p.name for p in own_params(node_type)] + [n for n in CONSTRAINT_COMMON
                                                           if node_type.param(n)]
        return {node_type.legacy_name: self.params(node, names)}

    # --- postproc --------------------------------------------------------------------------------

    def postproc(self) -> list[dict]:
        if not self.graph.links_into(self.train.id, "postproc"):
            return []
        chain = chain_into(self.graph, self.registry, self.train.id, "postproc")
        if not chain.complete:
            self.problem(self.train.id, "the postproc chain does not start at the pixels (it "
                                        f"breaks at `{chain.broken_at}`); not exported", "postproc")
            return []
        entries, previous = [], self.pixels.id
        for node_id in [*chain.nodes, self.train.id]:
            socket = "postproc" if node_id == self.train.id else "image"
            self.expressed.update(l for l in self.graph.links_into(node_id, socket)
                                  if l.src == previous)
            previous = node_id
        for node_id in chain.nodes:
            node = self.graph.nodes[node_id]
            node_type = self.registry[node.type]
            self.used(node_id, "postproc")
            if node_type.category != TRANSFORM or node_type.changes_resolution:
                self.note_once(node_id, f"`{node.type}` is not allowed in CLIPig's postproc; "
                                        "left out")
                continue
            entry = self.transform_entry(node, node_type)
            if entry is None:
                continue
            value = entry[node_type.legacy_name]
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
                self.note_once(node_id, "CLIPig skips a postproc transform whose value is zero; "
                                        "left out")
                continue
            schedule = self.params(node, ("active", "start", "end"))
            if schedule.get("active") is False:
                self.note_once(node_id, "CLIPig ignores `active: false` in postproc and runs the "
                                        "entry anyway; written as `active: false` all the same",
                               "active")
            entries.append({**entry, **schedule})
        return entries

    # --- what is left ----------------------------------------------------------------------------

    def leftovers(self) -> None:
        for node_id, places in self.written.items():
            if len(set(places)) > 1:
                where = ", ".join(dict.fromkeys(places))
                self.problem(node_id, f"shared by {where}: written into each (legacy YAML has no "
                                      "shared nodes)")
        for node in self.graph:
            if node.id in self.written or node.id in (self.pixels.id, self.train.id):
                continue
            if self.category(node) == MODEL_CAT:
                self.problem(node.id, "legacy YAML has one CLIP model (train.model); this model "
                                      "node is not exported, its features use train.model")
            elif node.type == "preview":
                feeds = ", ".join(l.src for l in self.graph.links_into(node.id))
                self.problem(node.id, "preview nodes are GUI only; not exported"
                                      + (f" (it shows `{feeds}`)" if feeds else ""))
            else:
                self.problem(node.id, "not part of a target, its chain or the postproc chain; "
                                      "not exported")
        for link in self.graph.links:
            ends = (link.src, link.dst)
            if link in self.expressed or any(e not in self.graph.nodes for e in ends):
                continue
            if all(e in self.written or e in (self.pixels.id, self.train.id) for e in ends):
                self.problem(link.dst, f"link {link} cannot be expressed in legacy YAML; dropped")
