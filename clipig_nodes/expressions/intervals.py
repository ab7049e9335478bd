"""Interval arithmetic: the range of values an operation can take over ranges of operands.

The operators here and the functions' *bounds* versions (bounds.py, named by the
table) get one :class:`Interval` per operand and return an Interval holding every
value the host version can return for operands in those ranges, or raise
:class:`RangeFailure` when some operand in range makes the host version fail (a
division by zero, a math domain error, a result too large). Bounds may be wider
than the true range, never narrower.

An infinite end of an argument's range means "unbounded" (a gauss() draw): the
host version is tried at the largest finite float there, so that exp(gauss())
is reported as able to overflow while sin(gauss()) is not.
"""

from __future__ import annotations

import math
import operator
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

from . import hostmath
from .syntax import EVALUATION_ERRORS, describe_error

MAX_FLOAT = sys.float_info.max
INF = math.inf


class RangeFailure(ValueError):
    """Some value in range makes the expression fail; str() says which and why.
    ``locate``: whether a value of one variable that causes it is worth searching for
    (not for "can be fractional", which holds between any two whole values)."""

    def __init__(self, message: str, locate: bool = True):
        super().__init__(message)
        self.locate = locate


@dataclass(frozen=True)
class Interval:
    """Every value in [lo, hi] (ints or floats, ends may be infinite).

    ``integral``: every value is a whole number (epoch, randint, floor, ...).
    ``nan``: the value may also be NaN.
    """
    lo: float
    hi: float
    integral: bool = False
    nan: bool = False

    def __post_init__(self):
        if not self.integral and self.lo == self.hi and _is_whole(self.lo):
            object.__setattr__(self, "integral", True)      # a single whole number

    @staticmethod
    def point(value) -> "Interval":
        if isinstance(value, float) and math.isnan(value):
            return Interval(-INF, INF, nan=True)
        value = int(value) if isinstance(value, bool) else value
        return Interval(value, value, integral=_is_whole(value))

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi and not self.nan

    def contains(self, x) -> bool:
        return self.lo <= x <= self.hi

    def union(self, other: "Interval") -> "Interval":
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi),
                        self.integral and other.integral, self.nan or other.nan)

    def __str__(self) -> str:
        if self.is_point:
            return fmt(self.lo)
        return f"[{fmt(self.lo)}, {fmt(self.hi)}]"


ANY = Interval(-INF, INF)
UNIT = Interval(0.0, 1.0)
BOOL = Interval(0, 1, integral=True)


def fmt(x) -> str:
    """A number for a message: ints exactly when short, else 4 significant digits."""
    if isinstance(x, bool):
        x = int(x)
    if isinstance(x, int):
        if abs(x) < 10 ** 15:
            return str(x)
        try:
            return f"{float(x):.4g}"
        except OverflowError:
            try:
                digits = len(str(abs(x))) - 1
            except ValueError:      # str() of 4300+ digits raises: count them from the bits
                digits = int(abs(x).bit_length() * 0.30102999566398)
            return f"{'-' if x < 0 else ''}about 10**{digits}"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


def _is_whole(x) -> bool:
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def any_nan(*intervals: Interval) -> bool:
    return any(i.nan for i in intervals)


def hull(values: Sequence, integral: bool = False, nan: bool = False) -> Interval:
    """The smallest interval holding the values (NaN among them sets ``nan``)."""
    real = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
    if len(real) < len(values):
        nan = True
    if not real:
        return Interval(-INF, INF, nan=True)
    return Interval(min(real), max(real), integral, nan)


# ------------------------------------------------------------- calling the host

def call(name: str, host: Callable, *args):
    """host(*args), or RangeFailure naming the call and the reason."""
    try:
        return host(*args)
    except EVALUATION_ERRORS as exc:
        if name == "**":
            shown = f"{fmt(args[0])} ** {fmt(args[1])}"
        else:
            shown = f"{name}({', '.join(fmt(a) for a in args)})"
        raise RangeFailure(f"cannot compute {shown} ({describe_error(exc)})") from None


def at_end(name: str, host: Callable, x, *rest):
    """host at one end of a range; an infinite end is tried at the largest float first."""
    if isinstance(x, float) and math.isinf(x):
        finite = call(name, host, math.copysign(MAX_FLOAT, x), *rest)
        try:
            return host(x, *rest)
        except EVALUATION_ERRORS:
            return finite
    return call(name, host, x, *rest)


def monotone(name: str, host: Callable, integral: bool = False) -> Callable:
    """Bounds of a one-argument function that is monotone over its domain (sqrt, exp,
    log, asin, acos, floor, erf, ...): its values at the two ends."""
    def bounds(args: Sequence[Interval]) -> Interval:
        (a,) = args
        values = [at_end(name, host, a.lo), at_end(name, host, a.hi)]
        return hull(values, integral, a.nan)
    return bounds


def corners(name: str, host: Callable, a: Interval, b: Interval, integral=False) -> Interval:
    """Bounds of a two-argument function monotone in each argument (x**y for x >= 0,
    ldexp): its values at the four corners."""
    values = [call(name, host, x, y) for x in _ends(a) for y in _ends(b)]
    return hull(values, integral, a.nan or b.nan)


def _ends(a: Interval) -> list:
    return [finite(a.lo), finite(a.hi)]


def finite(x):
    return math.copysign(MAX_FLOAT, x) if isinstance(x, float) and math.isinf(x) else x


# ------------------------------------------------------------------ arithmetic

def _too_large_for_float(x, y) -> RangeFailure:
    """An int beyond the float range met a float: the host raises OverflowError."""
    big = x if isinstance(x, int) and abs(x) > MAX_FLOAT else y
    return RangeFailure(f"can compute with {fmt(big)}, too large for a float")


def _add(x, y):
    try:
        return x + y
    except OverflowError:       # int + float beyond the float range: the host fails too
        raise _too_large_for_float(x, y) from None


def add(a: Interval, b: Interval) -> Interval:
    return Interval(_add(a.lo, b.lo), _add(a.hi, b.hi), a.integral and b.integral,
                    any_nan(a, b) or _opposite_infinities(a.hi, b.lo) or
                    _opposite_infinities(a.lo, b.hi))


def neg(a: Interval) -> Interval:
    return Interval(-a.hi, -a.lo, a.integral, a.nan)


def sub(a: Interval, b: Interval) -> Interval:
    return add(a, neg(b))


def _opposite_infinities(x, y) -> bool:
    return (isinstance(x, float) and isinstance(y, float) and math.isinf(x)
            and math.isinf(y) and x != y)


def _mul(x, y):
    """An end product; 0 * inf counts as 0 (the usual interval convention)."""
    if x == 0 or y == 0:
        return 0
    try:
        return x * y
    except OverflowError:       # int * float beyond the float range: the host fails too
        raise _too_large_for_float(x, y) from None


def mul(a: Interval, b: Interval) -> Interval:
    products = [_mul(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    for p in products:      # int * int beyond MAX_INT_BITS is refused by the host
        if isinstance(p, int) and p.bit_length() > hostmath.MAX_INT_BITS:
            raise RangeFailure(f"can compute a product of {fmt(p)}, too large")
    return hull(products, a.integral and b.integral, any_nan(a, b))


def reciprocal(what: str, b: Interval) -> Interval:
    if b.contains(0):
        raise RangeFailure(f"{what} by zero")
    lo, hi = _div(1, b.hi), _div(1, b.lo)        # 1 / int is exact for ints of any size
    return Interval(min(lo, hi), max(lo, hi), nan=b.nan)


def _div(x, y):
    try:
        return x / y
    except OverflowError:
        return INF
    except ZeroDivisionError:
        return INF


def _quotients(a: Interval, b: Interval, op) -> list:
    """op (/ or //) at the four corners, computed as the host does (same rounding). An
    inf / inf corner stands for huge / huge: anything from 0 to inf of that sign."""
    values = []
    for x in (a.lo, a.hi):
        for y in (b.lo, b.hi):
            try:
                q = op(x, y)
            except OverflowError:       # a huge int and a float: the host fails too
                raise _too_large_for_float(x, y) from None
            if isinstance(q, float) and math.isnan(q):
                values += [0, math.copysign(INF, x) * math.copysign(1.0, y)]
            else:
                values.append(q)
    return values


def div(a: Interval, b: Interval) -> Interval:
    if b.contains(0):
        raise RangeFailure("divides by zero")
    return hull(_quotients(a, b, operator.truediv), nan=any_nan(a, b))


def floordiv(a: Interval, b: Interval) -> Interval:
    """a // b = floor(a / b): monotone in each operand while b keeps its sign."""
    if b.contains(0):
        raise RangeFailure("divides (//) by zero")
    return hull(_quotients(a, b, operator.floordiv), integral=True, nan=any_nan(a, b))


def mod(a: Interval, b: Interval) -> Interval:
    """Python's a % b: in [0, b) for b > 0, in (b, 0] for b < 0."""
    if b.contains(0):
        raise RangeFailure("takes a remainder (%) by zero")
    integral = a.integral and b.integral
    if not integral:        # a float and an int: the host converts the int to a float
        for x in _ends(a) + _ends(b):
            if isinstance(x, int) and abs(x) > MAX_FLOAT:
                raise _too_large_for_float(x, x)
    if b.lo > 0:
        if a.lo >= 0 and a.hi < b.lo:
            return Interval(a.lo, a.hi, integral, any_nan(a, b))
        return Interval(0, b.hi - 1 if integral else b.hi, integral, any_nan(a, b))
    if a.hi <= 0 and a.lo > b.hi:
        return Interval(a.lo, a.hi, integral, any_nan(a, b))
    return Interval(b.lo + 1 if integral else b.lo, 0, integral, any_nan(a, b))


def power(a: Interval, b: Interval, name: str = "**", host=hostmath.safe_pow) -> Interval:
    """a ** b (and math.pow): corners where the base is >= 0; a negative base needs a
    whole exponent (else the host refuses a complex result)."""
    nan = a.nan or b.nan
    if b.lo < 0 and a.contains(0):
        raise RangeFailure(f"raises 0 to a negative power with `{name}` (division by zero)")
    if a.lo >= 0:
        return corners(name, host, a, b, a.integral and b.integral and b.lo >= 0)
    if not b.integral:
        raise RangeFailure(f"can raise a negative number ({fmt(a.lo)}) to a fractional power "
                           f"with `{name}`")
    if b.is_point:
        n = b.lo
        values = [call(name, host, x, n) for x in _ends(a)]
        if a.contains(0):
            values.append(0)
        if n % 2 == 0 and a.lo < 0 < a.hi:
            values.append(0)
        return hull(values, a.integral and n >= 0, nan)
    # a whole exponent that varies: the sign alternates; bound the magnitude
    big = max(abs(finite(a.lo)), abs(finite(a.hi)))
    small = 0 if a.contains(0) else min(abs(a.lo), abs(a.hi))
    magnitudes = [call(name, host, m, e) for m in (big, small) for e in _ends(b)
                  if m != 0 or e >= 0]
    top = max(abs(m) for m in magnitudes)
    return Interval(-top, top, a.integral and b.lo >= 0, nan)
