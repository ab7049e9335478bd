"""The sections of a legacy config that become several nodes: targets (with their
transforms, features and constraints) and postproc entries. Functions over a Builder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..graph.model import Node, slug
from ..values import split_list
from .convert import convert
from .schema import (CONSTRAINT_LOSSES, FEATURE_KEYS, FEATURE_PARAMS, HIDDEN_IDENTITY,
                     IMAGE_FEATURE, PAD_MODES, POSTPROC_ENTRY, SCHEDULE, SELECT_CHOICES, TARGET,
                     TARGET_KEYS, TARGET_LISTS, TEXT_FEATURE, constraint_params, own_params,
                     postproc_rank)
from .where import Loc, describe, show, unknown

if TYPE_CHECKING:
    from .build import Builder


# --- targets ---------------------------------------------------------------------------------

def target(b: Builder, entry, loc: Loc) -> None:
    if not isinstance(entry, dict):
        b.report.error(loc, "a target is a mapping (- name: ..., features: [...]), got "
                            f"{describe(entry)}")
        return
    name = None
    if "name" in entry:     # the id comes from the name as it will be stored
        ok, name = convert(b.report, loc.child(entry, "name"), b.registry[TARGET].param("name"),
                           entry["name"])
    node = b.new_node(TARGET, loc, slug(name, "target") if isinstance(name, str) else None)
    if isinstance(name, str):
        b.store(node, "name", name, loc.child(entry, "name"))
    for key, raw in entry.items():
        key_loc = loc.child(entry, key)
        if key in TARGET_LISTS or key in SCHEDULE or key == "name":
            continue
        if key not in TARGET_KEYS:
            b.report.error(key_loc, unknown("target key", key, TARGET_KEYS))
        elif key == "select":
            if isinstance(raw, str) and raw in SELECT_CHOICES:
                b.value(node, key, raw, key_loc)
            elif not entry.get("features"):     # CLIPig checks it only for targets with features
                b.report.warn(key_loc, f"unknown select `{show(raw)}`: harmless here because "
                                       "the target has no features (CLIPig checks it only then); "
                                       "ignored", node.id, key)
            else:
                b.report.error(key_loc, f"`select` must be all/best/worst/mix, got "
                                        f"`{show(raw)}`", node.id, key)
        elif key == "feature_scale":
            feature_scale(b, node, raw, key_loc)
        else:
            b.value(node, key, raw, key_loc)
    b.apply(node, b.schedule(entry, loc, node_id=node.id))
    chain = []
    for item, item_loc in sublist(b, entry, "transforms", loc):
        chain += transform_entry(b, item, item_loc)
    previous = b.pixels.id
    for transform in chain:
        b.link(previous, "image", transform.id, "image")
        previous = transform.id
    b.link(previous, "image", node.id, "image")
    b.chains[node.id] = [t.id for t in chain]
    for item, item_loc in sublist(b, entry, "features", loc):
        feature(b, node, item, item_loc)
    for item, item_loc in sublist(b, entry, "constraints", loc):
        constraint_entry(b, node, item, item_loc)
    b.link(node.id, "target", b.train.id, "targets")


def feature_scale(b: Builder, node: Node, raw, loc: Loc) -> None:
    if raw is None:
        b.value(node, "feature_scale", raw, loc)     # reports the missing value
        return
    text = raw if isinstance(raw, str) else show(raw)
    if text == "equal":
        b.value(node, "feature_scale", "equal", loc)
        return
    if text != "fair":
        b.report.warn(loc, f"feature_scale `{text}`: CLIPig treats anything but `equal` "
                           "as `fair`; imported as fair", node.id, "feature_scale")
    b.value(node, "feature_scale", "fair", loc)


def sublist(b: Builder, entry: dict, key: str, loc: Loc) -> list[tuple]:
    """[(item, its location), ...] of a target's list; a non-list is an error."""
    items = entry.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        b.report.error(loc.child(entry, key), f"`{key}` must be a list (each entry starts "
                                              f"with `- `), got {describe(items)}")
        return []
    list_loc = loc.child(entry, key)
    return [(item, list_loc.child(items, index)) for index, item in enumerate(items)]


# --- transforms ------------------------------------------------------------------------------

def transform_entry(b: Builder, entry, loc: Loc) -> list[Node]:
    """One `- name: value` entry of a target's transforms: a node per key, in YAML order."""
    if not isinstance(entry, dict):
        b.report.error(loc, f"a transform entry is a mapping such as `- noise: 0.1`, got "
                            f"{describe(entry)}")
        return []
    nodes = []
    for key, value in entry.items():
        key_loc = loc.child(entry, key)
        node_type = b.transforms.get(key) if isinstance(key, str) else None
        if node_type is None:
            b.report.error(key_loc, unknown("transform", key, b.transforms))
        elif not (key in HIDDEN_IDENTITY and _is_one(value)):
            node = transform(b, node_type, value, key_loc, postproc=False)
            if node is not None:
                nodes.append(node)
    return nodes


def transform(b: Builder, node_type, value, loc: Loc, postproc: bool) -> Node | None:
    """A transform node from `name: value`; None when it is left out."""
    name = node_type.legacy_name
    if value is None and postproc:
        b.report.warn(loc, f"`{name}` has no value: CLIPig skips it in postproc; left out")
        return None
    if node_type.legacy_value:
        if isinstance(value, dict):
            example = show(next(iter(value.values()))) if len(value) == 1 and not isinstance(
                next(iter(value.values())), (dict, list)) else "..."
            b.report.error(loc, f"`{name}` takes its value directly (`{name}: {example}`)")
            return None
        node = b.new_node(node_type.name, loc)
        ok = b.value(node, node_type.legacy_value, value, loc)
        stored = node.params.get(node_type.legacy_value, node_type.param(
            node_type.legacy_value).default)
        if ok and postproc and _is_zero(stored):
            b.report.warn(loc, f"`{name}: {show(value)}`: CLIPig skips a postproc transform "
                               "whose value is zero; left out")
            b.drop(node)
            return None
    else:
        if value is None:
            b.report.error(loc, f"`{name}` has no value: write `{name}: {{}}` for the "
                                "defaults")
            return None
        node = b.new_node(node_type.name, loc)
        if not multi_params(b, node, node_type, value, loc):
            b.drop(node)
            return None
    b.finish(node, loc)
    return node


def multi_params(b: Builder, node: Node, node_type, value, loc: Loc) -> bool:
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
                b.report.error(key_loc, unknown(f"`{name}` param", key, names, hint))
            else:
                pairs.append((key, raw, key_loc))
    else:
        items = split_list(value)
        if len(items) > len(names):
            b.report.error(loc, f"`{name}` takes at most {len(names)} values in the short "
                                f"form ({', '.join(names)}), got {len(items)}; or write a "
                                f"mapping: `{name}: {{{names[0]}: ...}}`")
            return True
        pairs = [(p, item, loc) for p, item in zip(names, items)]
    keep = True
    for key, raw, key_loc in pairs:
        if name == "pad" and key == "mode" and not (isinstance(raw, str) and raw in PAD_MODES):
            b.report.warn(key_loc, f"pad mode `{show(raw)}` is not fill, edge or wrap: "
                                   "CLIPig's pad then does nothing; the pad transform is "
                                   "left out")
            keep = False
        else:
            b.value(node, key, raw, key_loc)
    return keep


# --- features and constraints ----------------------------------------------------------------

def feature(b: Builder, target: Node, entry, loc: Loc) -> None:
    if not isinstance(entry, dict):
        b.report.error(loc, "a feature is a mapping such as `- text: a cat`, got "
                            f"{describe(entry)}")
        return
    for key in entry:
        if key not in FEATURE_KEYS:
            hint = " (CLIPig features have no `active`; leave the feature out)" \
                if key == "active" else ""
            b.report.error(loc.child(entry, key), unknown("feature key", key, FEATURE_KEYS,
                                                          hint))
    given = {}
    for key in ("text", "image"):
        raw = entry.get(key)
        if raw is None:
            continue
        if isinstance(raw, (dict, list)):
            b.report.error(loc.child(entry, key), f"expected text, got {describe(raw)}")
            given[key] = None
        elif str(raw).strip():
            given[key] = raw
    if "text" in given and "image" in given:
        b.report.warn(loc.child(entry, "image"), "a feature with both text and image: "
                                                 "CLIPig uses the text; the image is ignored")
    key = "text" if "text" in given else "image" if "image" in given else None
    if key is None:
        b.report.error(loc, "a feature needs `text` or `image`")
        return
    if given[key] is None:
        return
    node = b.new_node(TEXT_FEATURE if key == "text" else IMAGE_FEATURE, loc)
    b.value(node, key, given[key], loc.child(entry, key))
    for name in FEATURE_PARAMS:
        if name in entry and name not in SCHEDULE:
            key_loc = loc.child(entry, name)
            if b.value(node, name, entry[name], key_loc) and name == "scale" and \
                    isinstance(node.params.get("scale"), str):
                b.report.warn(key_loc, "an expression in `scale`: CLIPig raises TypeError "
                                       "on the first target of every epoch (no similarity "
                                       "yet); only constants are safe there", node.id,
                              "scale")
    schedule = b.schedule(entry, loc, ("start", "end"), node_id=node.id)
    if "active" in schedule:
        b.drop(node)
        return
    b.apply(node, schedule)
    b.finish(node, loc)
    b.link(node.id, "feature", target.id, "features")


def constraint_entry(b: Builder, target: Node, entry, loc: Loc) -> None:
    """`- name: {params}`; several names in one entry give several nodes, in key order."""
    if not isinstance(entry, dict):
        b.report.error(loc, "a constraint entry is a mapping such as `- blur: "
                            f"{{kernel_size: 5}}`, got {describe(entry)}")
        return
    for name, value in entry.items():
        key_loc = loc.child(entry, name)
        node_type = b.constraints.get(name) if isinstance(name, str) else None
        if node_type is None:
            b.report.error(key_loc, unknown("constraint", name, b.constraints))
            continue
        if not isinstance(value, dict):
            first = own_params(node_type)[0].name if own_params(node_type) else "weight"
            example = "{}" if value is None else f"{{{first}: {show(value)}}}"
            b.report.error(key_loc, f"`{name}` needs a mapping (`{name}: {example}`)")
            continue
        node = b.new_node(node_type.name, key_loc)
        names = [p.name for p in constraint_params(node_type)]
        for key, raw in value.items():
            param_loc = key_loc.child(value, key)
            if key not in names:
                hint = " (CLIPig constraints have no `active`; leave it out)" \
                    if key == "active" else f"; `{name}` takes " + ", ".join(names)
                b.report.error(param_loc, unknown(f"`{name}` param", key, names, hint))
            elif key == "loss":
                constraint_loss(b, node, raw, param_loc)
            elif key not in SCHEDULE:
                b.value(node, key, raw, param_loc)
        groups = node_type.param("weight").groups if node_type.param("weight") else None
        schedule = b.schedule(value, key_loc, ("start", "end"), groups, node.id)
        if "active" in schedule:
            b.drop(node)
            continue
        b.apply(node, schedule)
        b.finish(node, key_loc)
        b.link(node.id, "constraint", target.id, "constraints")


def constraint_loss(b: Builder, node: Node, raw, loc: Loc) -> None:
    if isinstance(raw, str) and raw not in CONSTRAINT_LOSSES and \
            raw.strip().lower() in CONSTRAINT_LOSSES:
        b.report.warn(loc, f"constraint loss `{raw}`: CLIPig is case-sensitive here and "
                           f"fails at run time; imported as {raw.strip().lower()}",
                      node.id, "loss")
        raw = raw.strip().lower()
    b.value(node, "loss", raw, loc)


# --- postproc --------------------------------------------------------------------------------

def postproc_entry(b: Builder, entry, loc: Loc) -> list[Node]:
    """One postproc entry: its transforms in CLIPig's FIXED order, each carrying the
    entry's active/start/end."""
    if not isinstance(entry, dict):
        b.report.error(loc, "a postproc entry is a mapping such as `- blur: {}`, got "
                            f"{describe(entry)}")
        return []
    schedule = b.schedule(entry, loc)
    active = schedule.get("active")
    if active is not None and active[0] is False and active[1].path.endswith(".active"):
        b.report.warn(active[1], "`active: false` in postproc: CLIPig ignores it and runs "
                                 "the entry anyway; clipig-nodes honours it (imported "
                                 "switched off)")
    allowed = sorted(n for n, t in b.transforms.items() if not t.changes_resolution)
    found = []
    for key, value in entry.items():
        if key in POSTPROC_ENTRY:
            continue
        key_loc = loc.child(entry, key)
        node_type = b.transforms.get(key) if isinstance(key, str) else None
        if node_type is None:
            b.report.error(key_loc, unknown("postproc key", key,
                                            (*allowed, *POSTPROC_ENTRY)))
        elif node_type.changes_resolution:
            b.report.error(key_loc, f"`{key}` changes the resolution and is not allowed "
                                    f"in `postproc`. Allowed: {', '.join(allowed)}")
        elif not (key in HIDDEN_IDENTITY and _is_one(value)):
            found.append((node_type, value, key_loc))
    found.sort(key=lambda item: postproc_rank(item[0].legacy_name))
    nodes = []
    for node_type, value, key_loc in found:
        node = transform(b, node_type, value, key_loc, postproc=True)
        if node is not None:
            b.apply(node, schedule)
            nodes.append(node)
    return nodes


def _is_one(value) -> bool:
    """The hidden `contrast: 1.0` / `saturation: 1.0` CLIPig's exporter adds (Appendix B)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 1


def _is_zero(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0
