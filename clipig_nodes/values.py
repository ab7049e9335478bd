"""Param values in CLIPig's syntax: parse, check and fold them.

A value in a graph is plain data (what a user wrote or a file holds): numbers,
strings, lists. `parse_value` turns it into what the compiler and engine use:
numbers with constants folded, `Expression` objects where the value depends on
training time (or resolution, learnrate, similarity), canonical enum names,
times as int epochs or float ratios. It raises ValueProblem with a one-line
message; the caller adds the node and param to it.

CLIPig rules kept here (LEGACY_FORMAT.md section 3):
- a vector written as a string is split on commas if it has any, else on
  whitespace (`640 480`, `640, 480`); a single value broadcasts;
- int params truncate toward zero; constant arithmetic (`1/32`) folds once;
- times: int = epoch, float = ratio of the run, `30%` = 0.3.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .expressions import Expression, ExpressionError, compile_expression
from .expressions.intervals import fmt
from .expressions.ranges import RangeError, check_range
from .registry import Param

_INT_LITERAL = re.compile(r"^[+-]?\d+$")
_FLOAT_LITERAL = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$|^[+-]?\d+[eE][+-]?\d+$")
_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}


class ValueProblem(ValueError):
    """A value that does not fit its param; str() is the user-facing message."""


def is_dynamic(value: Any) -> bool:
    """True when a parsed value must be evaluated during the run."""
    if isinstance(value, Expression):
        return True
    return isinstance(value, list) and any(isinstance(v, Expression) for v in value)


def to_plain(value: Any) -> Any:
    """A parsed value back to plain data (expressions as their source text)."""
    if isinstance(value, Expression):
        return value.source
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def parse_value(param: Param, raw: Any) -> Any:
    """Parse `raw` for `param`. None means 'not set' and is returned as None."""
    if raw is None:
        return None
    parser = _PARSERS[param.kind]
    return parser(param, raw)


def split_list(raw: Any) -> list:
    """CLIPig's list syntax: YAML list as is; a string split on ',' if it has one, else on
    whitespace; any other scalar becomes a one-element list."""
    if isinstance(raw, (list, tuple)):
        return list(raw)
    if isinstance(raw, str):
        parts = raw.split(",") if "," in raw else raw.split()
        return [p.strip() for p in parts]
    return [raw]


# --- scalars ------------------------------------------------------------------------------------

def _number(param: Param, raw: Any, kind: str) -> Any:
    """A number or Expression for a float/int/number param (kind is the element kind)."""
    if isinstance(raw, bool):
        raise ValueProblem(f"expected a number, got {str(raw).lower()} (a boolean)")
    if isinstance(raw, (int, float)):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            raise ValueProblem("expected a number, got an empty string")
        if _INT_LITERAL.match(text):
            value = _int_literal(text)
        elif _FLOAT_LITERAL.match(text):
            value = float(text)
        else:
            try:
                expr = compile_expression(text, param.groups)
            except ExpressionError as exc:
                raise ValueProblem(str(exc)) from None
            if not expr.is_constant:
                return expr     # evaluated during the run; its range is checked by validation
            if expr.uses_random:
                # reads no variable: its range is known here (randint(a, b) -> [a, b])
                check_expression(param, expr, {}, kind)
                return expr
            try:
                value = expr()
            except ExpressionError as exc:
                raise ValueProblem(str(exc)) from None
    else:
        raise ValueProblem(f"expected a number, got {_describe(raw)}")
    return _cast_number(param, value, kind)


# ints beyond 64 bits reach no tensor, seed or size: refused where they are written
_MAX_INT = 2 ** 63 - 1

# Longer numbers are refused before Python converts them (int() of a 5000-digit string
# raises, and such a number fits no param). 1024 bits hold every float's integer part.
MAX_INT_BITS = 1024
_MAX_INT_DIGITS = 309


def _int_literal(text: str) -> int:
    digits = len(text.lstrip("+-").lstrip("0"))
    if digits > _MAX_INT_DIGITS:
        raise ValueProblem(f"a {digits}-digit number is too large")
    return int(text)


def _cast_number(param: Param, value: Any, kind: str) -> int | float:
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, (int, float)):
        raise ValueProblem(f"expected a number, got {_describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueProblem(f"expected a finite number, got {value}")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ValueProblem(f"{_fmt(value)} is too large")
    if kind == "int":
        value = int(value)          # truncates toward zero, as CLIPig's int()
    elif kind == "float":
        try:
            value = float(value)
        except OverflowError:
            raise ValueProblem(f"{_fmt(value)} is too large for a float") from None
    _check_range(param, value)
    if isinstance(value, int) and not -_MAX_INT <= value <= _MAX_INT:
        raise ValueProblem(f"{_fmt(value)} is too large (at most 2**63 - 1)")
    return value


def check_expression(param: Param, expr: Expression, bounds, kind: str) -> None:
    """ValueProblem where `expr` can fail, or leave the param's range, anywhere within
    `bounds` (base variable -> Interval over the run; random draws: their full range)."""
    try:
        check_range(expr, bounds, minimum=param.minimum, maximum=param.maximum,
                    exclusive_minimum=param.exclusive_minimum, whole=kind == "int")
    except RangeError as exc:
        raise ValueProblem(str(exc)) from None
    if expr.uses_random and not param.groups:
        raise ValueProblem(f"`{expr.source}` draws a random number, but this param is set once "
                           "for the whole run; write a number")


def check_over_run(param: Param, value: Any, bounds) -> None:
    """check_expression for every expression in a parsed value (a vector: each item)."""
    if isinstance(value, Expression):
        check_expression(param, value, bounds, param.kind)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Expression):
                try:
                    check_expression(param, item, bounds, param.item)
                except ValueProblem as exc:
                    raise ValueProblem(f"item {index + 1}: {exc}") from None


def _check_range(param: Param, value: int | float) -> None:
    if param.minimum is not None:
        if value < param.minimum or (param.exclusive_minimum and value == param.minimum):
            relation = ">" if param.exclusive_minimum else ">="
            raise ValueProblem(f"{_fmt(value)} is out of range: must be {relation} {_fmt(param.minimum)}")
    if param.maximum is not None and value > param.maximum:
        raise ValueProblem(f"{_fmt(value)} is out of range: must be <= {_fmt(param.maximum)}")


def _parse_float(param, raw):
    return _number(param, raw, "float")


def _parse_int(param, raw):
    return _number(param, raw, "int")


def _parse_number(param, raw):
    return _number(param, raw, "number")


def _parse_bool(param, raw):
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise ValueProblem(f"expected true or false, got {_describe(raw)}")


def _parse_str(param, raw):
    if isinstance(raw, (list, tuple, dict)):
        raise ValueProblem(f"expected text, got {_describe(raw)}")
    text = str(raw) if not isinstance(raw, bool) else str(raw).lower()
    if param.required and not text.strip():
        raise ValueProblem("must not be empty")
    return text


def _parse_enum(param, raw):
    if not isinstance(raw, str):
        raise ValueProblem(f"expected one of {', '.join(param.choices)}, got {_describe(raw)}")
    key = raw.strip().lower()
    key = param.aliases.get(key, key)
    if key not in param.choices:
        names = list(param.choices) + list(param.aliases)
        from .registry import unknown_message
        raise ValueProblem(unknown_message("value", raw, names).replace("unknown value", "unknown choice")
                           + f"; choose one of {', '.join(param.choices)}")
    return key


def _parse_time(param, raw):
    """int -> epoch index, float -> ratio of the run, 'N%' -> ratio N/100."""
    if isinstance(raw, bool):
        raise ValueProblem(f"expected an epoch (int), a ratio (float) or a percentage, got "
                           f"{str(raw).lower()}")
    if isinstance(raw, (int, float)):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if text.endswith("%"):
            number = text[:-1].strip()
            if not (_INT_LITERAL.match(number) or _FLOAT_LITERAL.match(number)):
                raise ValueProblem(f"'{raw}' is not a percentage")
            value = float(number) * 0.01
        elif _INT_LITERAL.match(text):
            value = _int_literal(text)
        elif _FLOAT_LITERAL.match(text):
            value = float(text)
        else:
            try:
                expr = compile_expression(text, ())
                if expr.uses_random:
                    raise ValueProblem("a start/end time cannot be random")
                value = expr()
            except ExpressionError as exc:
                raise ValueProblem(f"a start/end time must be a constant: {exc}") from None
            if isinstance(value, bool):
                value = int(value)
    else:
        raise ValueProblem(f"expected an epoch (int), a ratio (float) or a percentage, got "
                           f"{_describe(raw)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueProblem(f"expected a finite time, got {value}")
    if value < 0:
        raise ValueProblem(f"{_fmt(value)} is out of range: a time must be >= 0")
    if isinstance(value, int) and value > _MAX_INT:
        raise ValueProblem(f"{_fmt(value)} is too large for an epoch")
    return value


def _parse_vector(param, raw):
    items = split_list(raw)
    lengths = param.length
    if len(items) == 1 and min(lengths) > 1:
        items = items * min(lengths)
    if len(items) not in lengths:
        allowed = " or ".join(str(n) for n in (1, *lengths))
        message = f"expected {allowed} values, got {len(items)}"
        if isinstance(raw, str) and len(items) > 1 and any(_looks_like_operator(i) for i in items):
            message += (f": the text was split on {'commas' if ',' in raw else 'whitespace'} into "
                        + ", ".join(f"'{i}'" for i in items)
                        + f". Write the expression without spaces (e.g. '{raw.replace(' ', '')}') "
                          f"or as a YAML list item (['{raw}'])")
        raise ValueProblem(message)
    out = []
    for index, item in enumerate(items):
        try:
            out.append(_number(param, item, param.item))
        except ValueProblem as exc:
            raise ValueProblem(f"item {index + 1}: {exc}") from None
    return out


def _looks_like_operator(text: Any) -> bool:
    return isinstance(text, str) and bool(re.fullmatch(r"[-+*/%<>=!()]+|if|else|and|or|not", text.strip()))


_PARSERS = {
    "float": _parse_float,
    "int": _parse_int,
    "number": _parse_number,
    "bool": _parse_bool,
    "str": _parse_str,
    "path": _parse_str,
    "enum": _parse_enum,
    "time": _parse_time,
    "vector": _parse_vector,
}


def _describe(raw: Any) -> str:
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, (list, tuple)):
        return "a list"
    if isinstance(raw, str):
        return f"'{raw}'"
    return repr(raw)


def _fmt(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return fmt(value)       # huge ints shortened (str() of 4300+ digits raises)
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- schedules ----------------------------------------------------------------------------------

def time_to_ratio(value: int | float, epochs: int) -> float:
    """A start/end value as a ratio t of the run (int epochs use t = e / max(1, E-1))."""
    if isinstance(value, int):
        return value / max(1, epochs - 1)
    return float(value)


def is_active_at(start, end, epoch: int, t: float) -> bool:
    """CLIPig's inclusive window: int bounds compare with the epoch, float bounds with t."""
    after_start = (start <= epoch) if isinstance(start, int) else (start <= t)
    before_end = (epoch <= end) if isinstance(end, int) else (t <= end)
    return after_start and before_end
