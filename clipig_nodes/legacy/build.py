"""Building the graph of one (merged) legacy config, section by section.

Shape: one `pixels` and one `train` node; per target a `target` node fed by its
transform chain (`pixels.image -> t1 -> t2 -> target.image`), its features and
its constraints, linked to `train.targets` in order; the postproc entries as one
chain `pixels.image -> p1 -> ... -> train.postproc`.

Every node remembers the key path it came from (`node_loc`, `param_loc`), so
that checks and graph validation can point into the file. Problems never stop
the walk: everything wrong is reported in one pass.
"""

from __future__ import annotations

import re
from typing import Any

from ..graph.model import Graph, Node, slug
from ..nodebase import ACTIVE, END, START
from ..values import ValueProblem, parse_value, split_list
from .convert import convert, convert_time, is_default
from .schema import (CLI_ONLY, CONSTRAINT_LOSSES, FEATURE_KEYS, FEATURE_PARAMS, HIDDEN_IDENTITY,
                     IMAGE_FEATURE, INIT, INIT_IGNORED, LEGACY_INTERPOLATIONS, LEGACY_OPTIMIZERS,
                     LIST_KEYS, PAD_MODES, PIXELS, POSTPROC_ENTRY, SCHEDULE, SELECT_CHOICES, TARGET,
                     TARGET_KEYS, TARGET_LISTS, TEXT_FEATURE, TOP_KEYS, TOP_LEVEL, TRAIN,
                     constraint_params, constraint_types, own_params, postproc_rank,
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
            self.target(entry, root.child(config, "targets").child(targets, index))
        postproc = config.get("postproc") or []
        previous = self.pixels.id
        for index, entry in enumerate(postproc):
            loc = root.child(config, "postproc").child(postproc, index)
            for node in self.postproc_entry(entry, loc):
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

    # --- targets ---------------------------------------------------------------------------------

    def target(self, entry, loc: Loc) -> None:
        if not isinstance(entry, dict):
            self.report.error(loc, "a target is a mapping (- name: ..., features: [...]), got "
                                   f"{describe(entry)}")
            return
        name = entry.get("name")
        base = slug(name, "target") if isinstance(name, (str, int, float)) \
            and not isinstance(name, bool) else "target"
        node = self.new_node(TARGET, loc, base)
        for key, raw in entry.items():
            key_loc = loc.child(entry, key)
            if key in TARGET_LISTS or key in SCHEDULE:
                continue
            if key not in TARGET_KEYS:
                self.report.error(key_loc, unknown("target key", key, TARGET_KEYS))
            elif key == "select":
                if isinstance(raw, str) and raw in SELECT_CHOICES:
                    self.value(node, key, raw, key_loc)
                else:
                    self.report.error(key_loc, f"`select` must be all/best/worst/mix, got "
                                               f"`{show(raw)}`", node.id, key)
            elif key == "feature_scale":
                self.feature_scale(node, raw, key_loc)
            else:
                self.value(node, key, raw, key_loc)
        self.apply(node, self.schedule(entry, loc, node_id=node.id))
        chain = []
        for index, item in self.sublist(entry, "transforms", loc):
            chain += self.transform_entry(item, loc.child(entry, "transforms").child(
                entry["transforms"], index))
        previous = self.pixels.id
        for transform in chain:
            self.link(previous, "image", transform.id, "image")
            previous = transform.id
        self.link(previous, "image", node.id, "image")
        self.chains[node.id] = [t.id for t in chain]
        for index, item in self.sublist(entry, "features", loc):
            self.feature(node, item, loc.child(entry, "features").child(entry["features"], index))
        for index, item in self.sublist(entry, "constraints", loc):
            self.constraint_entry(node, item, loc.child(entry, "constraints").child(
                entry["constraints"], index))
        self.link(node.id, "target", self.train.id, "targets")

    def feature_scale(self, node: Node, raw, loc: Loc) -> None:
        if raw is None:
            self.value(node, "feature_scale", raw, loc)     # reports the missing value
            return
        text = raw if isinstance(raw, str) else show(raw)
        if text == "equal":
            self.value(node, "feature_scale", "equal", loc)
            return
        if text != "fair":
            self.report.warn(loc, f"feature_scale `{text}`: CLIPig treats anything but `equal` "
                                  "as `fair`; imported as fair", node.id, "feature_scale")
        self.value(node, "feature_scale", "fair", loc)

    def sublist(self, entry: dict, key: str, loc: Loc):
        items = entry.get(key)
        if items is None:
            return []
        if not isinstance(items, list):
            self.report.error(loc.child(entry, key), f"`{key}` must be a list (each entry starts "
                                                     f"with `- `), got {describe(items)}")
            return []
        return list(enumerate(items))

    # --- transforms ------------------------------------------------------------------------------

    def transform_entry(self, entry, loc: Loc) -> list[Node]:
        """One `- name: value` entry of a target's transforms: a node per key, in YAML order."""
        if not isinstance(entry, dict):
            self.report.error(loc, f"a transform entry is a mapping such as `- noise: 0.1`, got "
                                   f"{describe(entry)}")
            return []
        nodes = []
        for key, value in entry.items():
            key_loc = loc.child(entry, key)
            node_type = self.transforms.get(key) if isinstance(key, str) else None
            if node_type is None:
                self.report.error(key_loc, unknown("transform", key, self.transforms))
            elif not (key in HIDDEN_IDENTITY and _is_one(value)):
                node = self.transform(node_type, value, key_loc, postproc=False)
                if node is not None:
                    nodes.append(node)
        return nodes

    def transform(self, node_type, value, loc: Loc, postproc: bool) -> Node | None:
        """A transform node from `name: value`; None when it is left out."""
        name = node_type.legacy_name
        if value is None and postproc:
            self.report.warn(loc, f"`{name}` has no value: CLIPig skips it in postproc; left out")
            return None
        if node_type.legacy_value:
            if isinstance(value, dict):
                example = show(next(iter(value.values()))) if len(value) == 1 and not isinstance(
                    next(iter(value.values())), (dict, list)) else "..."
                self.report.error(loc, f"`{name}` takes its value directly (`{name}: {example}`)")
                return None
            node = self.new_node(node_type.name, loc)
            ok = self.value(node, node_type.legacy_value, value, loc)
            stored = node.params.get(node_type.legacy_value, node_type.param(
                node_type.legacy_value).default)
            if ok and postproc and _is_zero(stored):
                self.report.warn(loc, f"`{name}: {show(value)}`: CLIPig skips a postproc transform "
                                      "whose value is zero; left out")
                self.drop(node)
                return None
        else:
            if value is None:
                self.report.error(loc, f"`{name}` has no value: write `{name}: {{}}` for the "
                                       "defaults")
                return None
            node = self.new_node(node_type.name, loc)
            if not self.multi_params(node, node_type, value, loc):
                self.drop(node)
                return None
        self.finish(node, loc)
        return node

    def multi_params(self, node: Node, node_type, value, loc: Loc) -> bool:
        """Sub-params of a multi-param transform, as a mapping or CLIPig's README short form
        (one value per param in declaration order: `blur: 3 .35`). False: leave it out."""
        own = own_params(node_type)
        names = [p.name for p in own]
        name = node_type.legacy_name
        if isinstance(value, dict):
            pairs = []
            for key, raw in value.items():
                key_loc = loc.child(value, key)
                if key not in names:
                    hint = " (CLIPig transforms have no start/end/active; use an expression)" \
                        if key in SCHEDULE else f"; `{name}` takes " + ", ".join(names)
                    self.report.error(key_loc, unknown(f"`{name}` param", key, names, hint))
                else:
                    pairs.append((key, raw, key_loc))
        else:
            items = split_list(value)
            if len(items) > len(names):
                self.report.error(loc, f"`{name}` takes at most {len(names)} values in the short "
                                       f"form ({', '.join(names)}), got {len(items)}; or write a "
                                       f"mapping: `{name}: {{{names[0]}: ...}}`")
                return True
            pairs = [(p, item, loc) for p, item in zip(names, items)]
        keep = True
        for key, raw, key_loc in pairs:
            if name == "pad" and key == "mode" and not (isinstance(raw, str) and raw in PAD_MODES):
                self.report.warn(key_loc, f"pad mode `{show(raw)}` is not fill, edge or wrap: "
                                          "CLIPig's pad then does nothing; the pad transform is "
                                          "left out")
                keep = False
            else:
                self.value(node, key, raw, key_loc)
        return keep

    # --- features and constraints ----------------------------------------------------------------

    def feature(self, target: Node, entry, loc: Loc) -> None:
        if not isinstance(entry, dict):
            self.report.error(loc, "a feature is a mapping such as `- text: a cat`, got "
                                   f"{describe(entry)}")
            return
        for key in entry:
            if key not in FEATURE_KEYS:
                hint = " (CLIPig features have no `active`; leave the feature out)" \
                    if key == "active" else ""
                self.report.error(loc.child(entry, key), unknown("feature key", key, FEATURE_KEYS,
                                                                 hint))
        given = {}
        for key, type_name in (("text", TEXT_FEATURE), ("image", IMAGE_FEATURE)):
            raw = entry.get(key)
            if raw is None:
                continue
            param = self.registry[type_name].param(key)
            if isinstance(raw, (dict, list)):
                self.report.error(loc.child(entry, key), f"expected text, got {describe(raw)}")
                given[key] = None
            elif str(raw).strip():
                given[key] = raw
        if "text" in given and "image" in given:
            self.report.warn(loc.child(entry, "image"), "a feature with both text and image: "
                                                        "CLIPig uses the text; the image is ignored")
        key = "text" if "text" in given else "image" if "image" in given else None
        if key is None:
            self.report.error(loc, "a feature needs `text` or `image`")
            return
        if given[key] is None:
            return
        node = self.new_node(TEXT_FEATURE if key == "text" else IMAGE_FEATURE, loc)
        self.value(node, key, given[key], loc.child(entry, key))
        for name in FEATURE_PARAMS:
            if name in entry and name not in SCHEDULE:
                key_loc = loc.child(entry, name)
                if self.value(node, name, entry[name], key_loc) and name == "scale" and \
                        isinstance(node.params.get("scale"), str):
                    self.report.warn(key_loc, "an expression in `scale`: CLIPig raises TypeError "
                                              "on the first target of every epoch (no similarity "
                                              "yet); only constants are safe there", node.id,
                                     "scale")
        schedule = self.schedule(entry, loc, ("start", "end"), node_id=node.id)
        if "active" in schedule:
            self.drop(node)
            return
        self.apply(node, schedule)
        self.finish(node, loc)
        self.link(node.id, "feature", target.id, "features")

    def constraint_entry(self, target: Node, entry, loc: Loc) -> None:
        """`- name: {params}`; several names in one entry give several nodes, in key order."""
        if not isinstance(entry, dict):
            self.report.error(loc, "a constraint entry is a mapping such as `- blur: "
                                   f"{{kernel_size: 5}}`, got {describe(entry)}")
            return
        for name, value in entry.items():
            key_loc = loc.child(entry, name)
            node_type = self.constraints.get(name) if isinstance(name, str) else None
            if node_type is None:
                self.report.error(key_loc, unknown("constraint", name, self.constraints))
                continue
            if not isinstance(value, dict):
                first = own_params(node_type)[0].name if own_params(node_type) else "weight"
                example = "{}" if value is None else f"{{{first}: {show(value)}}}"
                self.report.error(key_loc, f"`{name}` needs a mapping (`{name}: {example}`)")
                continue
            node = self.new_node(node_type.name, key_loc)
            names = [p.name for p in constraint_params(node_type)]
            for key, raw in value.items():
                param_loc = key_loc.child(value, key)
                if key not in names:
                    hint = " (CLIPig constraints have no `active`; leave it out)" \
                        if key == "active" else f"; `{name}` takes " + ", ".join(names)
                    self.report.error(param_loc, unknown(f"`{name}` param", key, names, hint))
                elif key == "loss":
                    self.constraint_loss(node, raw, param_loc)
                elif key not in SCHEDULE:
                    self.value(node, key, raw, param_loc)
            groups = node_type.param("weight").groups if node_type.param("weight") else None
            schedule = self.schedule(value, key_loc, ("start", "end"), groups, node.id)
            if "active" in schedule:
                self.drop(node)
                continue
            self.apply(node, schedule)
            self.finish(node, key_loc)
            self.link(node.id, "constraint", target.id, "constraints")

    def constraint_loss(self, node: Node, raw, loc: Loc) -> None:
        if isinstance(raw, str) and raw not in CONSTRAINT_LOSSES and \
                raw.strip().lower() in CONSTRAINT_LOSSES:
            self.report.warn(loc, f"constraint loss `{raw}`: CLIPig is case-sensitive here and "
                                  f"fails at run time; imported as {raw.strip().lower()}",
                             node.id, "loss")
            raw = raw.strip().lower()
        self.value(node, "loss", raw, loc)

    # --- postproc --------------------------------------------------------------------------------

    def postproc_entry(self, entry, loc: Loc) -> list[Node]:
        """One postproc entry: its transforms in CLIPig's FIXED order, each carrying the
        entry's active/start/end."""
        if not isinstance(entry, dict):
            self.report.error(loc, "a postproc entry is a mapping such as `- blur: {}`, got "
                                   f"{describe(entry)}")
            return []
        schedule = self.schedule(entry, loc)
        active = schedule.get("active")
        if active is not None and active[0] is False and active[1].path.endswith(".active"):
            self.report.warn(active[1], "`active: false` in postproc: CLIPig ignores it and runs "
                                        "the entry anyway; clipig-nodes honours it (imported "
                                        "switched off)")
        allowed = sorted(n for n, t in self.transforms.items() if not t.changes_resolution)
        found = []
        for key, value in entry.items():
            if key in POSTPROC_ENTRY:
                continue
            key_loc = loc.child(entry, key)
            node_type = self.transforms.get(key) if isinstance(key, str) else None
            if node_type is None:
                self.report.error(key_loc, unknown("postproc key", key,
                                                   (*allowed, *POSTPROC_ENTRY)))
            elif node_type.changes_resolution:
                self.report.error(key_loc, f"`{key}` changes the resolution and is not allowed "
                                           f"in `postproc`. Allowed: {', '.join(allowed)}")
            elif not (key in HIDDEN_IDENTITY and _is_one(value)):
                found.append((node_type, value, key_loc))
        found.sort(key=lambda item: postproc_rank(item[0].legacy_name))
        nodes = []
        for node_type, value, key_loc in found:
            node = self.transform(node_type, value, key_loc, postproc=True)
            if node is not None:
                self.apply(node, schedule)
                nodes.append(node)
        return nodes


def _is_one(value) -> bool:
    """The hidden `contrast: 1.0` / `saturation: 1.0` CLIPig's exporter adds (Appendix B)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 1


def _is_zero(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0
