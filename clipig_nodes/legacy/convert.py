"""One legacy value -> the canonical plain value a graph stores (section 3).

values.parse_value already implements CLIPig's syntax (list splitting,
broadcast, int truncation, constant folding). What differs in a legacy file is
handled here, before or after it:
- `true` where a number is expected is 1 (CLIPig calls int()/float() on it);
- a quoted boolean (`active: "false"`) is TRUE in CLIPig (bool() of text);
- a start/end written as a constant expression becomes a FLOAT ratio, `true`
  epoch 1, a negative start means "from the first epoch";
- a constant expression for snapshot_interval becomes a float (seconds).
Each function returns (ok, value); value None means "not set" (the default).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..expressions import ExpressionError, compile_expression
from ..registry import Param
from ..values import ValueProblem, parse_value, to_plain
from .where import Loc, Report, show

_INT = re.compile(r"^\s*[+-]?\d+\s*$")
_NEGATIVE_LITERAL = re.compile(r"^\s*-\s*(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*%?\s*$")
_LITERAL = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*%?\s*$")
_NUMERIC = ("float", "int", "number", "vector")


def same(a: Any, b: Any) -> bool:
    """Equality that keeps int and float apart (epoch 1 is not ratio 1.0)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def is_default(param: Param, value: Any) -> bool:
    return value is None or (param.default is not None and same(value, param.default))


def parse(report: Report, loc: Loc, param: Param, raw: Any, node=None) -> tuple[bool, Any]:
    """values.parse_value -> plain data; its problems become errors at `loc`."""
    try:
        return True, to_plain(parse_value(param, raw))
    except ValueProblem as exc:
        report.error(loc, str(exc), node, param.name)
    except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:   # e.g. float(10**400)
        report.error(loc, f"cannot read {show(raw)}: {exc}", node, param.name)
    return False, None


def convert(report: Report, loc: Loc, param: Param, raw: Any, node=None) -> tuple[bool, Any]:
    """A legacy value for any param kind (enums are checked by the caller first)."""
    if raw is None:
        if param.nullable:
            return True, None
        if param.required:
            report.error(loc, "needs a value", node, param.name)
        else:
            report.error(loc, "has no value: write one, or leave the key out for the default "
                              f"({show(param.default)})", node, param.name)
        return False, None
    if param.kind == "bool":
        return convert_bool(report, loc, raw, node, param.name)
    if param.kind == "time":
        return convert_time(report, loc, param, raw, node)
    if param.kind in _NUMERIC:
        raw = _numbers_from_booleans(report, loc, raw, node, param.name)
    ok, value = parse(report, loc, param, raw, node)
    if ok and param.kind == "number" and isinstance(value, int) and isinstance(raw, str) \
            and not _INT.match(raw):
        value = float(value)     # CLIPig casts a folded expression to the last type: seconds
    return ok, value


def _numbers_from_booleans(report, loc, raw, node, param_name):
    """CLIPig calls int()/float() on a boolean: `true` -> 1 (almost surely a mistake)."""
    def fix(value):
        return int(value) if isinstance(value, bool) else value
    if isinstance(raw, bool) or (isinstance(raw, list) and any(isinstance(v, bool) for v in raw)):
        report.warn(loc, f"a boolean where a number belongs: CLIPig reads {show(raw)} as "
                         f"{show([fix(v) for v in raw] if isinstance(raw, list) else fix(raw))}",
                    node, param_name)
        return [fix(v) for v in raw] if isinstance(raw, list) else fix(raw)
    return raw


def convert_bool(report, loc, raw, node=None, param_name=None) -> tuple[bool, Any]:
    """CLIPig's bool(): real booleans and numbers as expected, ANY non-empty text is true."""
    if isinstance(raw, bool):
        return True, raw
    if isinstance(raw, (int, float)):
        return True, bool(raw)
    if isinstance(raw, str):
        value = bool(raw)
        key = loc.path.rsplit(".", 1)[-1]
        meant = raw.strip().lower() not in ("false", "no", "off", "0", "")
        report.warn(loc, f"quoted boolean \"{raw}\": CLIPig reads any non-empty text as true, "
                         f"so this is imported as {str(value).lower()}; write `{key}: "
                         f"{str(meant).lower()}` without quotes", node, param_name)
        return True, value
    report.error(loc, f"expected true or false, got {show(raw)}", node, param_name)
    return False, None


def convert_time(report, loc, param, raw, node=None, variable_groups=None) -> tuple[bool, Any]:
    """A start/end value as CLIPig reads it (3.4): int/int text = epoch, float/float text or
    `N%` = ratio, constant expression = FLOAT ratio, `true` = epoch 1.

    variable_groups: constraint start/end also accept variable expressions (a leak in
    CLIPig), which it never evaluates: the value is then (True, None), always active.
    A negative value comes back as is; the caller decides what it means.
    """
    name = loc.path.rsplit(".", 1)[-1]
    if isinstance(raw, bool):
        report.warn(loc, f"`{name}: {show(raw)}` is read by CLIPig as epoch {int(raw)}",
                    node, param.name)
        raw = int(raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw < 0:
        return True, raw       # the caller decides what a negative time means
    if isinstance(raw, str) and _NEGATIVE_LITERAL.match(raw):
        ok, value = parse(report, loc, param, raw.replace("-", "", 1), node)
        return (ok, -value) if ok else (False, None)
    if not isinstance(raw, str) or _LITERAL.match(raw):
        return _checked_ratio(report, loc, param, *parse(report, loc, param, raw, node), node, raw)
    # an expression
    if variable_groups:
        try:
            expression = compile_expression(raw.strip(), variable_groups)
        except ExpressionError as exc:
            report.error(loc, str(exc), node, param.name)
            return False, None
        if not expression.is_constant:
            report.warn(loc, f"`{name}: {show(raw)}` is an expression: CLIPig accepts it here but "
                             "never evaluates it, so the constraint is always active; imported "
                             f"without `{name}`", node, param.name)
            return True, None
    ok, value = parse(report, loc, param, raw, node)
    if not ok:
        return False, None
    value = float(value)     # CLIPig casts a folded expression to float: a ratio, not an epoch
    if value > 1.0:
        report.warn(loc, f"`{name}: {show(raw)}` is a constant expression, which CLIPig turns into "
                         f"the ratio {value!r} of the run (1.0 = the last epoch), not an epoch; "
                         f"write `{name}: {_epoch_hint(value)}` for an epoch", node, param.name)
    return True, value


def _checked_ratio(report, loc, param, ok, value, node, raw):
    if ok and isinstance(value, float) and value > 1.0:
        name = loc.path.rsplit(".", 1)[-1]
        report.warn(loc, f"`{name}: {show(raw)}` is a float, so it is a ratio of the run "
                         f"(1.0 = the last epoch) and lies beyond the end; write "
                         f"`{name}: {_epoch_hint(value)}` for an epoch", node, param.name)
    return ok, value


def _epoch_hint(value: float) -> str:
    return str(int(value)) if math.isfinite(value) else "N"
