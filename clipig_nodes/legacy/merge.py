"""Merging several legacy configs into one, as CLIPig's CLI does (section 6.1).

`clipig.py base.yaml scene.yaml`: documents merge in order, mappings key by
key, `targets` and `postproc` lists are concatenated. Any other key set in two
files: the later value wins. CLIPig concatenates list params there (which then
fails to load), so that case gets a warning; so does a later scalar replacing
an earlier one, because it is easy to miss.

The merged containers remember the file of each key and item, so that every
problem found later names the right file and line. A single document goes
through the same code, which is where `targets:`/`postproc:` written as a
mapping are caught.
"""

from __future__ import annotations

from typing import Any

from ..yamlio import LineDict, LineList, line_of
from .schema import INIT, LIST_KEYS, TOP_LEVEL
from .where import Loc, Report, describe


class MergedDict(LineDict):
    """A mapping whose keys may come from different files (key_sources)."""

    key_sources: dict


class MergedList(LineList):
    """A list whose items may come from different files (item_sources)."""

    item_sources: list


def _new_dict(line=None) -> MergedDict:
    d = MergedDict()
    d.key_lines, d.key_sources, d.line = {}, {}, line
    return d


def _new_list(line=None) -> MergedList:
    items = MergedList()
    items.item_lines, items.item_sources, items.line = [], [], line
    return items


def merge_documents(documents: list[tuple[str | None, Any]], report: Report) -> MergedDict:
    """One merged config from [(source, parsed YAML), ...]; problems go to `report`."""
    merged = _new_dict()
    for source, data in documents:
        root = Loc("", source, getattr(data, "line", None))
        if data is None:
            continue      # an empty file: nothing to merge (CLIPig runs on the defaults)
        if not isinstance(data, dict):
            report.error(root, "a CLIPig config is a mapping of keys (resolution: ..., targets: "
                               f"...), this file holds {describe(data)}")
            continue
        for key, value in data.items():
            loc = root.child(data, key)
            if key in LIST_KEYS:
                _append_list(merged, key, value, data, loc, report)
            elif isinstance(value, dict) and isinstance(merged.get(key), MergedDict):
                _merge_mapping(merged[key], value, loc, report, key)
            else:
                _set(merged, key, value, loc, report, key)
    return merged


def _set(target: MergedDict, key, value, loc: Loc, report: Report, path: str) -> None:
    if key in target:
        _warn_twice(report, loc, path, target.key_sources.get(key))
    if isinstance(value, dict):
        value = _copy_dict(value, loc.source)
    target[key] = value
    target.key_lines[key] = loc.line
    target.key_sources[key] = loc.source


def _merge_mapping(target: MergedDict, value: dict, loc: Loc, report: Report, path: str) -> None:
    """Key by key (the `init` section)."""
    for sub, sub_value in value.items():
        sub_loc = loc.child(value, sub)
        if sub in target:
            _warn_twice(report, sub_loc, f"{path}.{sub}", target.key_sources.get(sub))
        target[sub] = sub_value
        target.key_lines[sub] = sub_loc.line
        target.key_sources[sub] = sub_loc.source


def _append_list(merged: MergedDict, key: str, value, data, loc: Loc, report: Report) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        example = "targets:\n  - features: [{text: ...}]" if key == "targets" else \
                  "postproc:\n  - blur: {}"
        report.error(loc, f"`{key}` must be a list (each entry starts with `- `), got "
                          f"{describe(value)}; CLIPig loads this and then crashes when it runs. "
                          f"Write e.g.\n{example}")
        return
    if key not in merged:
        merged[key] = _new_list(loc.line)
        merged.key_lines[key] = loc.line
        merged.key_sources[key] = loc.source
    items = merged[key]
    for index, item in enumerate(value):
        items.append(item)
        items.item_lines.append(line_of(value, index) or loc.line)
        items.item_sources.append(loc.source)


def _copy_dict(value: dict, source) -> MergedDict:
    copy = _new_dict(getattr(value, "line", None))
    for k, v in value.items():
        copy[k] = v
        copy.key_lines[k] = line_of(value, k)
        copy.key_sources[k] = source
    return copy


def _warn_twice(report: Report, loc: Loc, path: str, earlier) -> None:
    top, _, sub = path.partition(".")
    mapping = INIT.get(sub) if top == "init" else TOP_LEVEL.get(top) if not sub else None
    is_list = mapping is not None and mapping[1] in LIST_PARAMS
    where = f"in {earlier} and {loc.source}" if earlier or loc.source else "twice"
    consequence = ("CLIPig would fail: it concatenates the two lists" if is_list
                   else "as CLIPig does")
    report.warn(loc, f"`{path}` is set {where}; the later value is used ({consequence})")


# params CLIPig stores as lists (and therefore concatenates when merging)
LIST_PARAMS = ("resolution", "init_resolution", "init_mean", "init_std")


def output_note(documents: list[tuple[str | None, Any]], report: Report) -> None:
    """CLIPig takes `output` from the LAST file only (6.2); we take it from the last file
    that sets it. Say so when that differs."""
    mappings = [(s, d) for s, d in documents if isinstance(d, dict)]
    if len(mappings) < 2 or "output" in mappings[-1][1]:
        return
    setters = [(s, d) for s, d in mappings if "output" in d]
    if setters:
        source, data = setters[-1]
        report.warn(Loc("output", source, line_of(data, "output")),
                    f"CLIPig takes `output` only from the last file ({mappings[-1][0]}), which "
                    f"does not set it, so it would name the image after that file; clipig-nodes "
                    f"uses this value")
