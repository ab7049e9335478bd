"""Key paths, lines and the problem list of one legacy conversion.

`Loc` is a position in a (possibly merged) config: the key path as a user
reads it (`targets[1].transforms[0].noise`), the file it came from and the
line. Merged containers (see merge.py) know the file of each key; single
documents inherit the file of their parent.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..problems import ERROR, WARNING, Problem
from ..yamlio import line_of


@dataclass(frozen=True)
class Loc:
    path: str = ""
    source: str | None = None
    line: int | None = None

    def child(self, container: Any, key: Any) -> "Loc":
        """The location of `container[key]` (a mapping key or a list index)."""
        if isinstance(container, list):
            path = f"{self.path}[{key}]"
            sources = getattr(container, "item_sources", None)
            source = sources[key] if sources and isinstance(key, int) and key < len(sources) else None
        else:
            path = f"{self.path}.{key}" if self.path else str(key)
            source = (getattr(container, "key_sources", None) or {}).get(key)
        line = line_of(container, key)
        return Loc(path, source or self.source, line if line is not None else self.line)

    def key(self, name: str) -> "Loc":
        """A key that is not in the file (a missing param): the parent's line."""
        return Loc(f"{self.path}.{name}" if self.path else name, self.source, self.line)


@dataclass
class Report:
    """Collects problems; remembers which (node, param) each one is about, so that graph
    validation run afterwards does not say the same thing again."""

    problems: list[Problem] = field(default_factory=list)
    about: set = field(default_factory=set)

    def add(self, loc: Loc, message: str, severity: str = ERROR, node=None, param=None) -> None:
        self.problems.append(Problem(message, severity, path=loc.path or None,
                                     source=loc.source, line=loc.line))
        if node is not None:
            self.about.add((node, param, severity))

    def error(self, loc: Loc, message: str, node=None, param=None) -> None:
        self.add(loc, message, ERROR, node, param)

    def warn(self, loc: Loc, message: str, node=None, param=None) -> None:
        self.add(loc, message, WARNING, node, param)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)


def unknown(what: str, key: Any, known: Iterable[str], hint: str = "") -> str:
    """'unknown transform `blurr` (did you mean `blur`?)'."""
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
    text = f"unknown {what} `{key}`"
    if close:
        text += f" (did you mean `{close[0]}`?)"
    return text + hint


def describe(value: Any) -> str:
    """A short name for the type of a YAML value, for messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def show(value: Any, limit: int = 40) -> str:
    """A value as it would stand in YAML, shortened."""
    if isinstance(value, (list, tuple)) and len(value) <= 8:
        text = "[" + ", ".join(show(v, limit) for v in value) + "]"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif value is None:
        text = "null"
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
