"""Range analysis: every value an expression can take over a whole run.

`value_range(expr, bounds)` walks the parsed tree with interval arithmetic
(intervals.py; each function's bounds version is in the table) and returns an
Interval that holds every value the host evaluator can return while the
variables stay within `bounds` (t in [0, 1], epoch in [0, epochs - 1], ...) and
random functions draw anything they can draw. Where some value in range makes
the expression fail (1/t at t = 0, sqrt of a negative number, a result too
large, randint(a, b) with a > b), it raises RangeError naming the reason and,
where one variable decides it, the value at which it happens.

The bounds are safe rather than tight: an interval may be wider than the true
range (``t - t`` is [-1, 1]), never narrower. Branches narrow simple
conditions on a variable (``1/t if t > 0 else 0`` is fine).
"""

from __future__ import annotations

import ast
import math
from typing import Callable, Mapping

from ..limits import MAX_EPOCHS, MAX_SIDE
from . import bounds as bd
from . import intervals as iv
from .host import Expression
from .intervals import ANY, BOOL, UNIT, Interval, RangeFailure, fmt
from .syntax import ExpressionError, handlers, parse, show
from .table import CONSTANTS, FUNCTIONS, INT_KEYS, PAIR_NAMES, TIME_STEP_NAMES, VARIABLES

__all__ = ["Interval", "RangeError", "value_range", "default_bounds", "check_range",
           "BASE_KEYS"]

#: the canonical variables whose ranges a caller gives (see Expression)
BASE_KEYS = ("t", "epoch", "width", "height", "lr", "lrs", "sim")


class RangeError(ExpressionError):
    """Some value in range makes the expression fail or leave its bounds."""


def default_bounds(epochs: int = MAX_EPOCHS, max_side: int = MAX_SIDE) -> dict[str, Interval]:
    """Bounds without a graph: any run length and resolution the nodes allow."""
    return {
        "t": UNIT,
        "epoch": Interval(0, max(0, epochs - 1), integral=True),
        "width": Interval(1, max_side, integral=True),
        "height": Interval(1, max_side, integral=True),
        "lr": ANY, "lrs": ANY,
        "sim": Interval(-100.0, 100.0),
    }


def value_range(expr: Expression, bounds: Mapping[str, Interval]) -> Interval:
    """The range of `expr` over `bounds` (base key -> Interval); RangeError if it can fail."""
    tree = parse(expr.source)
    try:
        result = _Walker(bounds).walk(tree)
    except RangeFailure as exc:
        reason, where = str(exc), ""
        if exc.locate:
            where, at_point = _locate(tree, bounds, _fails)
            reason = at_point or reason
        raise RangeError(f"`{show(expr.source)}` {reason}{where}") from None
    except (ArithmeticError, ValueError, TypeError) as exc:   # refuse what cannot be bounded
        raise RangeError(f"`{show(expr.source)}` cannot be bounded ({exc})") from None
    return result if result is not None else Interval(0, 0, True)


def check_range(expr: Expression, bounds: Mapping[str, Interval], *, minimum=None,
                maximum=None, exclusive_minimum: bool = False, whole: bool = False) -> Interval:
    """value_range, then RangeError where the range can leave [minimum, maximum], or, for a
    whole-number (int) value, where it can be infinite, NaN or beyond 64 bits."""
    found = value_range(expr, bounds)
    src = f"`{show(expr.source)}`"
    tree = None

    def where(predicate: Callable[[Interval], bool]) -> str:
        nonlocal tree
        tree = tree or parse(expr.source)
        return _locate(tree, bounds, predicate)[0]

    if found.nan:
        raise RangeError(f"{src} can be NaN (not a number)" + where(lambda r: r.nan))
    if not whole:
        for end in (found.lo, found.hi):
            if isinstance(end, int) and abs(end) > iv.MAX_FLOAT:
                raise RangeError(f"{src} can reach {fmt(end)}, too large for a float")
    if whole:
        limit = 2 ** 63
        if math.isinf(found.lo) or math.isinf(found.hi):
            raise RangeError(f"{src} can take any value (it is in {found}); a whole number "
                             f"param needs a bounded one")
        if maximum is None and found.hi >= limit or minimum is None and found.lo < -limit:
            raise RangeError(f"{src} can reach {fmt(found.hi if found.hi >= limit else found.lo)},"
                             f" too large for a whole number param")
    if maximum is not None and found.hi > maximum:
        raise RangeError(f"{src} can reach {fmt(found.hi)}"
                         + where(lambda r: r.hi > maximum) + f", above the maximum {fmt(maximum)}")
    if minimum is not None and (found.lo < minimum or exclusive_minimum and found.lo <= minimum):
        low = found.lo
        if whole and not isinstance(low, int) and math.isfinite(low):
            low = math.trunc(low)           # int params truncate, as CLIPig
        if low < minimum or (exclusive_minimum and low <= minimum):
            relation = "at or below" if exclusive_minimum else "below"
            raise RangeError(f"{src} can reach {fmt(low)}"
                             + where(lambda r: r.lo < minimum)
                             + f", {relation} the minimum {fmt(minimum)}")
    return found


# ------------------------------------------------------------- locating a failure

def _fails(result) -> bool:
    return result is _FAILED


_FAILED = object()
_SEARCH_STEPS = 48


# the order in which variables are tried as the one that decides a failure
_SEARCH_ORDER = ("t", "epoch", "sim", "lrs", "lr", "width", "height")


def _locate(tree, bounds: Mapping[str, Interval], predicate) -> tuple[str, str | None]:
    """(' at t = 0', the failure's message there) where one variable decides it (found by
    bisection, the others kept over their whole range), else ('', None)."""
    read = _keys_read(tree)
    for key in _SEARCH_ORDER:
        if key in read and key in bounds:
            found = _locate_in(tree, bounds, predicate, key)
            if found[0]:
                return found
    return "", None


def _locate_in(tree, bounds, predicate, key: str) -> tuple[str, str | None]:
    whole_range = bounds[key]
    if math.isinf(whole_range.lo) or math.isinf(whole_range.hi) or whole_range.is_point:
        return "", None
    failure: list[str] = []

    def bad(sub: Interval) -> bool:
        try:
            result = _Walker({**bounds, key: sub}).walk(tree)
        except RangeFailure as exc:
            result = _FAILED
            if sub.is_point:
                failure.append(str(exc))
        if predicate is _fails:
            return result is _FAILED
        return result is not _FAILED and result is not None and predicate(result)

    def at(point) -> tuple[str, str | None]:
        failure.clear()
        bad(Interval(point, point, integral))
        return f" at {key} = {fmt(point)}", (failure[-1] if failure else None)

    integral = whole_range.integral
    ends = [Interval(end, end, integral) for end in (whole_range.lo, whole_range.hi)]
    bad_ends = [bad(end) for end in ends]
    if all(bad_ends):
        return "", None     # it fails whatever this variable is: another one decides
    for end, is_bad in zip(ends, bad_ends):
        if is_bad:
            return at(end.lo)
    lo, hi = whole_range.lo, whole_range.hi
    if not bad(whole_range):
        return "", None
    for _ in range(_SEARCH_STEPS):
        mid = (lo + hi) // 2 if integral else (lo + hi) / 2
        if mid in (lo, hi):
            break
        if bad(Interval(lo, mid, integral)):
            hi = mid
        else:
            lo = mid
    for point in (lo, hi):
        if bad(Interval(point, point, integral)):
            return at(point)
    return ("", None) if integral else (f" near {key} = {fmt((lo + hi) / 2)}", None)


def _keys_read(tree) -> set[str]:
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in VARIABLES:
                keys.add(VARIABLES[node.id].key)
            elif node.id in PAIR_NAMES:
                keys.update(("width", "height"))
            elif node.id in TIME_STEP_NAMES:
                keys.add("t")
    return keys


# ------------------------------------------------------------------- the walker

_COMPARISONS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_BINARY_BOUNDS = {ast.Add: iv.add, ast.Sub: iv.sub, ast.Mult: iv.mul, ast.Div: iv.div,
                  ast.FloorDiv: iv.floordiv, ast.Mod: iv.mod, ast.Pow: iv.power}


class _Walker:
    """Interval of each node (None: a branch that cannot be taken)."""

    def __init__(self, bounds: Mapping[str, Interval]):
        self.bounds = bounds

    def walk(self, node) -> Interval | None:
        return _HANDLERS[type(node)](self, node)

    def _Expression(self, node):
        return self.walk(node.body)

    def _Constant(self, node):
        return Interval.point(node.value)

    def _Name(self, node):
        name = node.id
        if name in VARIABLES:
            v = VARIABLES[name]
            x = self.bounds.get(v.key, ANY)
            if v.inverse:
                x = iv.sub(Interval(1.0, 1.0), x)
            if v.power != 1:
                x = iv.power(x, Interval.point(v.power))
            return x
        if name in CONSTANTS:
            return Interval.point(CONSTANTS[name])
        raise RangeFailure(f"uses `{name}`, which has no range here")

    def _UnaryOp(self, node):
        x = self.walk(node.operand)
        if x is None:
            return None
        if isinstance(node.op, ast.USub):
            return iv.neg(x)
        if isinstance(node.op, ast.UAdd):
            return x
        if x.is_point:                                  # not: 1 or 0
            return Interval.point(int(not x.lo))
        return BOOL

    def _BinOp(self, node):
        a, b = self.walk(node.left), self.walk(node.right)
        if a is None or b is None:
            return None
        return _BINARY_BOUNDS[type(node.op)](a, b)      # other operators are refused earlier

    def _BoolOp(self, node):
        values = [v for v in (self.walk(n) for n in node.values) if v is not None]
        if not values:
            return None
        result = values[0]
        for v in values[1:]:
            result = result.union(v)
        return result

    def _Compare(self, node):
        for n in [node.left, *node.comparators]:
            self.walk(n)
        return BOOL

    def _IfExp(self, node):
        test = self.walk(node.test)
        if test is not None and test.is_point:
            return self.walk(node.body if test.lo else node.orelse)
        body = self._narrowed(node.test, True).walk(node.body)
        orelse = self._narrowed(node.test, False).walk(node.orelse)
        if body is None or orelse is None:
            return body or orelse
        return body.union(orelse)

    def _narrowed(self, test, holds: bool) -> "_Walker":
        """A walker whose bounds know that `test` (a comparison of a variable with a
        constant, like t > 0 or epoch < 10) holds, or does not."""
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1
                and isinstance(test.ops[0], _COMPARISONS)):
            return self
        left, right, op = test.left, test.comparators[0], type(test.ops[0])
        if _is_base_variable(right) and not _is_base_variable(left):
            left, right = right, left
            op = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}[op]
        if not _is_base_variable(left):
            return self
        try:
            limit = self.walk(right)
        except RangeFailure:
            return self
        if limit is None or not limit.is_point:
            return self
        if not holds:
            op = {ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.GtE: ast.Lt}[op]
        key = VARIABLES[left.id].key
        x = self.bounds.get(key, ANY)
        c = limit.lo
        lo, hi = x.lo, x.hi
        if op in (ast.Lt, ast.LtE):
            hi = min(hi, c if op is ast.LtE else _below(c, x.integral))
        else:
            lo = max(lo, c if op is ast.GtE else _above(c, x.integral))
        if lo > hi:
            return _Unreachable(self.bounds)
        return _Walker({**self.bounds, key: Interval(lo, hi, x.integral, x.nan)})

    def _Subscript(self, node):
        index = self.walk(node.slice)       # a constant 0, 1, -1 or -2 (checked at compile)
        return self.bounds.get(("width", "height")[int(index.lo)], ANY)

    def _Call(self, node):
        name = node.func.id
        if name in TIME_STEP_NAMES:
            for arg in node.args:
                self.walk(arg)
            return UNIT
        if name in ("min", "max") and len(node.args) == 1:       # min(res), max(res)
            pair = [self.bounds.get("width", ANY), self.bounds.get("height", ANY)]
            return bd.minimum(pair) if name == "min" else bd.maximum(pair)
        args = [self.walk(a) for a in node.args]
        if any(a is None for a in args):
            return None
        function = FUNCTIONS[name]
        if name == "round" and len(node.args) == 2 and not _always_int(node.args[1]):
            # round(x, n) takes an int n, as in Python: 2.0 or t // 1 is refused
            raise RangeFailure("can pass a float as the digits of `round(x, n)`, which needs "
                               "an int (write int(...))", locate=False)
        if function.float_args:
            for a in args:
                for end in (a.lo, a.hi):
                    if isinstance(end, int) and abs(end) > iv.MAX_FLOAT:
                        raise RangeFailure(f"can pass {fmt(end)} to `{name}`, too large for "
                                           f"a float")
        if not function.random and all(a.is_point for a in args):
            return Interval.point(iv.call(name, function.host, *(a.lo for a in args)))
        return function.bounds(args)


class _Unreachable(_Walker):
    """A branch whose condition can never hold: it contributes nothing."""

    def walk(self, node):
        return None


# functions whose result is always a Python int (or bool)
_INT_FUNCTIONS = frozenset({"int", "floor", "ceil", "trunc", "bool", "randint", "randrange",
                            "factorial", "comb", "perm", "gcd", "lcm", "isqrt", "isnan", "isinf",
                            "isfinite", "isclose"})


def _always_int(node) -> bool:
    """Whether the host value of `node` is an int whatever the variables (syntactically)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int)
    if isinstance(node, ast.Name):
        return node.id in VARIABLES and VARIABLES[node.id].key in INT_KEYS
    if isinstance(node, ast.Subscript):
        return True                                     # res[i]
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.Not) or _always_int(node.operand)
    if isinstance(node, ast.BinOp):
        return (isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod))
                and _always_int(node.left) and _always_int(node.right))
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.BoolOp):
        return all(_always_int(v) for v in node.values)
    if isinstance(node, ast.IfExp):
        return _always_int(node.body) and _always_int(node.orelse)
    if isinstance(node, ast.Call):
        name = node.func.id
        if name == "round":
            return len(node.args) == 1 or _always_int(node.args[0])
        if name in ("min", "max") and len(node.args) == 1:
            return True                                 # min(res), max(res)
        if name in ("abs", "min", "max"):
            return all(_always_int(a) for a in node.args)
        return name in _INT_FUNCTIONS
    return False


def _is_base_variable(node) -> bool:
    return (isinstance(node, ast.Name) and node.id in VARIABLES
            and VARIABLES[node.id].power == 1 and not VARIABLES[node.id].inverse)


def _below(c, integral: bool):
    if integral:
        return math.ceil(c) - 1
    return math.nextafter(float(c), -math.inf)


def _above(c, integral: bool):
    if integral:
        return math.floor(c) + 1
    return math.nextafter(float(c), math.inf)


_HANDLERS: dict[type, Callable] = handlers(_Walker)
