"""The node catalog as plain data (for `main.py nodes --json`, docs and the palette)."""

from __future__ import annotations

from .expressions.groups import GROUP_LETTERS, GROUPS_LEGEND
from .registry import CATEGORIES, Registry


def catalog(registry: Registry, names: list[str] | None = None) -> list[dict]:
    types = [registry[n] for n in names] if names else sorted(
        registry, key=lambda t: (CATEGORIES.index(t.category), t.name))
    return [_entry(t) for t in types]


def _entry(t) -> dict:
    return {
        "name": t.name,
        "category": t.category,
        "doc": t.doc(),
        "help": t.long_doc(),
        "legacy_name": t.legacy_name,
        "random": t.random,
        "changes_resolution": t.changes_resolution,
        "inputs": [{"name": s.name, "type": s.type, "multi": s.multi, "required": s.required,
                    "doc": s.doc} for s in t.inputs],
        "outputs": [{"name": s.name, "type": s.type, "doc": s.doc} for s in t.outputs],
        "params": [{
            "name": p.name,
            "kind": p.kind,
            **({"item": p.item, "length": list(p.length)} if p.kind == "vector" else {}),
            **({"choices": list(p.choices)} if p.kind == "enum" else {}),
            **({"aliases": dict(p.aliases)} if p.aliases else {}),
            "default": p.default,
            "required": p.required,
            "minimum": p.minimum,
            "maximum": p.maximum,
            "expression_groups": sorted(p.groups),
            "doc": p.doc,
        } for p in t.param_list],
        "module": t.module,
    }


def format_catalog(entries: list[dict]) -> str:
    lines = []
    category = None
    for e in entries:
        if e["category"] != category:
            category = e["category"]
            lines += ["", f"== {category} ==".upper(), ""]
        flags = [f for f, on in (("random", e["random"]), ("changes resolution",
                                                           e["changes_resolution"])) if on]
        lines.append(f"{e['name']}" + (f"  [{', '.join(flags)}]" if flags else "")
                     + (f"  (CLIPig: {e['legacy_name']})"
                        if e["legacy_name"] not in (None, e["name"]) else ""))
        lines.append(f"    {e['doc']}")
        for s in e["inputs"]:
            lines.append(f"    in  {s['name']}: {s['type']}" + (" (many)" if s["multi"] else "")
                         + ("" if s["required"] else " (optional)"))
        for s in e["outputs"]:
            lines.append(f"    out {s['name']}: {s['type']}")
        for p in e["params"]:
            kind = p["kind"]
            if kind == "vector":
                kind = f"{' or '.join(map(str, p['length']))} x {p['item']}"
            elif kind == "enum":
                kind = "|".join(p["choices"])
            default = "required" if p["required"] else f"default {_fmt(p['default'])}"
            groups = "".join(GROUP_LETTERS[g] for g in GROUP_LETTERS if g in p["expression_groups"])
            expr = f", expr {groups}" if groups else ""
            lines.append(f"    - {p['name']} ({kind}, {default}{expr}): {p['doc']}")
        lines.append("")
    lines.append(GROUPS_LEGEND)
    return "\n".join(lines).lstrip("\n") + "\n"


def _fmt(value) -> str:
    if value is None:
        return "unset"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)
