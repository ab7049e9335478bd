"""Problems found in a graph or a config: one type for every layer.

Validation, file loading and the legacy converter all report a list of
`Problem`s instead of raising at the first one, so a user sees everything
that is wrong in one pass. Each problem says where it is: a node id and
param name for graphs, a YAML key path (and line) for files.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    message: str
    severity: str = ERROR
    node: str | None = None      # graph node id
    param: str | None = None     # param (or socket) name on that node
    path: str | None = None      # key path in a file: targets[1].transforms[0].noise
    source: str | None = None    # file name
    line: int | None = None      # 1-based line in that file

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def where(self) -> str:
        """The location part of the message, empty when there is none."""
        parts = []
        if self.source:
            parts.append(self.source if self.line is None else f"{self.source}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.node:
            parts.append(f"node '{self.node}'" + (f" param '{self.param}'" if self.param else ""))
        if self.path:
            parts.append(self.path)
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        prefix = "" if self.is_error else "warning: "
        return f"{where}: {prefix}{self.message}" if where else f"{prefix}{self.message}"


def errors(problems) -> list[Problem]:
    return [p for p in problems if p.is_error]


def warnings(problems) -> list[Problem]:
    return [p for p in problems if not p.is_error]


class ProblemsError(Exception):
    """Raised when an operation cannot go on; carries every problem found."""

    def __init__(self, problems, what: str = "invalid input"):
        self.problems = list(problems)
        super().__init__(what + ":\n" + "\n".join(f"  {p}" for p in self.problems))


def describe_exception(exc: BaseException) -> str:
    """An exception in a line for a user: "Type: first line", or what exit() meant, for the
    errors of plugin and node code (the file and line are added by the caller)."""
    if isinstance(exc, SystemExit):
        return f"it called exit({exc.code!r})" if exc.code is not None else "it called exit()"
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return type(exc).__name__ + (f": {text}" if text else "")
