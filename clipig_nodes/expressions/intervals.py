"""Interval arithmetic: the range of values a function can take over ranges of arguments.

Each function of the table (table.py) has, besides its host and tensor
versions, a *bounds* version here: it gets one :class:`Interval` per argument
and returns an Interval holding every value the host version can return for
arguments in those ranges, or raises :class:`RangeFailure` when some argument
in range makes the host version fail (a division by zero, a math domain error,
a result too large). Bounds may be wider than the true range, never narrower.

An infinite end of an argument's range means "unbounded" (a gauss() draw): the
host version is tried at the largest finite float there, so that exp(gauss())
is reported as able to overflow while sin(gauss()) is not.
"""

from __future__ import annotations

import math
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


def _merge_nan(*intervals: Interval) -> bool:
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
        shown = ", ".join(fmt(a) for a in args)
        raise RangeFailure(f"cannot compute {name}({shown}) ({describe_error(exc)})") from None


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
    return [_finite(a.lo), _finite(a.hi)]


def _finite(x):
    return math.copysign(MAX_FLOAT, x) if isinstance(x, float) and math.isinf(x) else x


# ------------------------------------------------------------------ arithmetic

def _add(x, y):
    try:
        return x + y
    except OverflowError:       # int + float beyond the float range
        return INF if (x > 0 or y > 0) else -INF


def add(a: Interval, b: Interval) -> Interval:
    return Interval(_add(a.lo, b.lo), _add(a.hi, b.hi), a.integral and b.integral,
                    _merge_nan(a, b) or _opposite_infinities(a.hi, b.lo) or
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
    except OverflowError:
        return INF if (x > 0) == (y > 0) else -INF


def mul(a: Interval, b: Interval) -> Interval:
    products = [_mul(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    for p in products:      # int * int beyond MAX_INT_BITS is refused by the host
        if isinstance(p, int) and p.bit_length() > hostmath.MAX_INT_BITS:
            raise RangeFailure(f"can compute a product of {fmt(p)}, too large")
    return hull(products, a.integral and b.integral, _merge_nan(a, b))


def reciprocal(what: str, b: Interval) -> Interval:
    if b.contains(0):
        raise RangeFailure(f"{what} by zero")
    lo, hi = _div(1.0, b.hi), _div(1.0, b.lo)
    return Interval(min(lo, hi), max(lo, hi), nan=b.nan)


def _div(x, y):
    try:
        return x / y
    except OverflowError:
        return INF
    except ZeroDivisionError:
        return INF


def div(a: Interval, b: Interval) -> Interval:
    return mul(a, reciprocal("divides", b))


def floordiv(a: Interval, b: Interval) -> Interval:
    q = mul(a, reciprocal("divides (//)", b))
    lo = math.floor(q.lo) if math.isfinite(q.lo) else q.lo
    hi = math.floor(q.hi) if math.isfinite(q.hi) else q.hi
    return Interval(lo, hi, True, q.nan)


def mod(a: Interval, b: Interval) -> Interval:
    """Python's a % b: in [0, b) for b > 0, in (b, 0] for b < 0."""
    if b.contains(0):
        raise RangeFailure("takes a remainder (%) by zero")
    integral = a.integral and b.integral
    if b.lo > 0:
        if a.lo >= 0 and a.hi < b.lo:
            return Interval(a.lo, a.hi, integral, _merge_nan(a, b))
        return Interval(0, b.hi - 1 if integral else b.hi, integral, _merge_nan(a, b))
    if a.hi <= 0 and a.lo > b.hi:
        return Interval(a.lo, a.hi, integral, _merge_nan(a, b))
    return Interval(b.lo + 1 if integral else b.lo, 0, integral, _merge_nan(a, b))


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
    big = max(abs(_finite(a.lo)), abs(_finite(a.hi)))
    small = 0 if a.contains(0) else min(abs(a.lo), abs(a.hi))
    magnitudes = [call(name, host, m, e) for m in (big, small) for e in _ends(b)
                  if m != 0 or e >= 0]
    top = max(abs(m) for m in magnitudes)
    return Interval(-top, top, a.integral and b.lo >= 0, nan)


def compare() -> Interval:
    return BOOL


# ----------------------------------------------------------------- special shapes

def absolute(args: Sequence[Interval]) -> Interval:
    (a,) = args
    if a.lo >= 0:
        return a
    if a.hi <= 0:
        return neg(a)
    return Interval(0, max(-a.lo, a.hi), a.integral, a.nan)


def fabs(args):
    a = absolute(args)
    return Interval(float(_finite_or(a.lo)), float(_finite_or(a.hi)), a.integral, a.nan)


def _finite_or(x):
    try:
        return float(x)
    except OverflowError:
        return INF if x > 0 else -INF


def minimum(args: Sequence[Interval]) -> Interval:
    return Interval(min(a.lo for a in args), min(a.hi for a in args),
                    all(a.integral for a in args), _merge_nan(*args))


def maximum(args: Sequence[Interval]) -> Interval:
    return Interval(max(a.lo for a in args), max(a.hi for a in args),
                    all(a.integral for a in args), _merge_nan(*args))


def identity(args):
    return args[0]


def to_float(args):
    (a,) = args
    return Interval(_finite_or(a.lo), _finite_or(a.hi), a.integral, a.nan)


def to_bool(args):
    (a,) = args
    if a.is_point:
        return Interval.point(int(bool(a.lo)))
    if not a.contains(0) and not a.nan:
        return Interval(1, 1, True)
    return BOOL


def to_int(name: str, host: Callable):
    """int, trunc, floor, ceil: monotone, whole, and not defined at inf or NaN."""
    base = monotone(name, host, integral=True)

    def bounds(args):
        if args[0].nan:
            raise RangeFailure(f"can pass NaN to `{name}`")
        return base(args)
    return bounds


def rounding(args):
    a = args[0]
    if len(args) == 1:
        return to_int("round", hostmath.safe_round)(args)
    digits = args[1]
    if not digits.integral:
        raise RangeFailure("can pass a fractional number of digits to `round`", locate=False)
    if digits.is_point:
        n = digits.lo
        return monotone("round", lambda x: hostmath.safe_round(x, n), a.integral)([a])
    # any number of digits: round(x, n) stays within the magnitude of x rounded up
    top = max(abs(_finite(a.lo)), abs(_finite(a.hi)))
    top = 10 ** len(str(int(top))) if top < 1e300 else INF
    return Interval(-top if a.lo < 0 else 0, top if a.hi > 0 else 0, False, a.nan)


def periodic(name: str, host: Callable, peak: float):
    """sin (peaks at pi/2 + k pi) and cos (at k pi): exact bounds over short ranges."""
    def bounds(args):
        (a,) = args
        lo, hi = _finite(a.lo), _finite(a.hi)
        if hi - lo >= 2 * math.pi:
            return Interval(-1.0, 1.0, nan=a.nan)
        values = [call(name, host, lo), call(name, host, hi)]
        k = math.ceil((lo - peak) / math.pi)
        while peak + k * math.pi <= hi:
            values.append(1.0 if k % 2 == 0 else -1.0)
            k += 1
        return hull(values, nan=a.nan)
    return bounds


def tangent(args):
    (a,) = args
    lo, hi = _finite(a.lo), _finite(a.hi)
    if hi - lo >= math.pi or math.floor((lo - math.pi / 2) / math.pi) != \
            math.floor((hi - math.pi / 2) / math.pi):
        return Interval(-INF, INF, nan=a.nan)      # an asymptote in range: any value
    return hull([call("tan", math.tan, lo), call("tan", math.tan, hi)], nan=a.nan)


def hyperbolic_cosine(args):
    (a,) = args
    ends = [at_end("cosh", math.cosh, a.lo), at_end("cosh", math.cosh, a.hi)]
    low = 1.0 if a.contains(0) else min(ends)
    return Interval(low, max(ends), nan=a.nan)


def logarithm(args):
    x = monotone("log", math.log)([args[0]])
    if len(args) == 1:
        return x
    base = monotone("log", math.log)([args[1]])
    return mul(x, reciprocal("log(x, base) divides (base 1)", base))


def atan2(args):
    return Interval(-math.pi, math.pi, nan=_merge_nan(*args))


def fmod(args):
    x, y = args
    if y.contains(0):
        raise RangeFailure("can compute fmod(x, 0) (math domain error)")
    top = max(abs(y.lo), abs(y.hi))
    lo = 0.0 if x.lo >= 0 else -min(top, -x.lo)
    hi = 0.0 if x.hi <= 0 else min(top, x.hi)
    return Interval(lo, hi, nan=_merge_nan(x, y))


def remainder(args):
    x, y = args
    if y.contains(0):
        raise RangeFailure("can compute remainder(x, 0) (math domain error)")
    half = max(abs(y.lo), abs(y.hi)) / 2
    top = min(half, max(abs(_finite(x.lo)), abs(_finite(x.hi))))
    return Interval(-top, top, nan=_merge_nan(x, y))


def hypot(args):
    mags = [absolute([a]) for a in args]
    lo = math.hypot(*(float(_finite(m.lo)) for m in mags))
    hi = math.hypot(*(float(_finite(m.hi)) for m in mags))
    return Interval(lo, hi, nan=_merge_nan(*args))


def copysign(args):
    x, y = args
    m = fabs([x])
    if y.lo >= 0 and not y.nan:
        return m
    return Interval(-m.hi, m.hi, nan=x.nan)


def gamma_like(name: str, host: Callable, minimum_at: float):
    """gamma and lgamma: poles at 0, -1, -2, ...; one minimum on the positive side."""
    def bounds(args):
        (a,) = args
        if a.lo <= 0:
            pole = min(0, math.floor(_finite(a.hi)))
            if a.lo <= pole:
                raise RangeFailure(f"can compute {name}({fmt(pole)}) (a pole: math domain error)")
            return Interval(-INF, INF, nan=a.nan)     # between two poles: not bounded here
        values = [at_end(name, host, a.lo), at_end(name, host, a.hi)]
        if a.contains(minimum_at):
            values.append(host(minimum_at))
        return hull(values, nan=a.nan)
    return bounds


def predicate(args):
    return BOOL


def whole_args(name: str, args: Sequence[Interval]) -> None:
    for a in args:
        if not a.integral:
            raise RangeFailure(f"can pass a fractional number to `{name}`, which needs whole "
                               f"numbers (the argument is in {a})", locate=False)


def factorial(args):
    whole_args("factorial", args)
    return monotone("factorial", hostmath.factorial, integral=True)(args)


def comb(args):
    whole_args("comb", args)
    n, k = args
    if n.lo < 0 or k.lo < 0:
        raise RangeFailure("can pass a negative number to `comb`")
    top = _finite(n.hi)
    kk = min(max(top // 2, k.lo), k.hi)
    return Interval(0, call("comb", hostmath.comb, top, _finite(kk)), True)


def perm(args):
    whole_args("perm", args)
    n = args[0]
    k = args[1] if len(args) > 1 else n
    if n.lo < 0 or k.lo < 0:
        raise RangeFailure("can pass a negative number to `perm`")
    top = _finite(n.hi)
    return Interval(0, call("perm", hostmath.perm, top, min(_finite(k.hi), top)), True)


def gcd(args):
    whole_args("gcd", args)
    return Interval(0, max(max(abs(_finite(a.lo)), abs(_finite(a.hi))) for a in args), True)


def lcm(args):
    whole_args("lcm", args)
    tops = [max(abs(_finite(a.lo)), abs(_finite(a.hi))) for a in args]
    return Interval(0, call("lcm", hostmath.lcm, *tops), True)


def isqrt(args):
    whole_args("isqrt", args)
    return monotone("isqrt", hostmath.isqrt, integral=True)(args)


def ldexp(args):
    x, i = args
    whole_args("ldexp", [i])
    return corners("ldexp", hostmath.ldexp, x, i)


def nextafter(args):
    x, y = args
    return Interval(math.nextafter(float(_finite(x.lo)), -INF),
                    math.nextafter(float(_finite(x.hi)), INF), nan=_merge_nan(x, y))


def ulp(args):
    m = fabs(args)
    return Interval(0.0, at_end("ulp", math.ulp, m.hi), nan=m.nan)


def time_step(args):
    return UNIT


# ------------------------------------------------------------------ random draws

def _finite_args(name: str, args: Sequence[Interval]) -> None:
    for a in args:
        if a.nan or not (-hostmath.MAX_RANDOM_ARG <= a.lo and a.hi <= hostmath.MAX_RANDOM_ARG):
            raise RangeFailure(f"can pass a non-finite or huge number to `{name}` (an argument "
                               f"is in {a})")


def _positive(name: str, what: str, a: Interval) -> None:
    if a.lo <= 0:
        raise RangeFailure(f"can pass {what} = {fmt(a.lo)} to `{name}`, which needs {what} > 0")


def r_random(args):
    return UNIT


def r_uniform(args):
    _finite_args("uniform", args)
    return hull([a.lo for a in args] + [a.hi for a in args])


def r_randrange(args):
    whole_args("randrange", args)
    if len(args) == 1:
        args = [Interval(0, 0, True), args[0]]
    start, stop = args[0], args[1]
    if len(args) == 3:
        step = args[2]
        if step.contains(0):
            raise RangeFailure("can call randrange with a step of 0")
        return Interval(min(start.lo, stop.lo), max(start.hi, stop.hi), True)
    if start.hi >= stop.lo:
        raise RangeFailure(f"can call randrange with an empty range (start {fmt(start.hi)}, "
                           f"stop {fmt(stop.lo)})")
    return Interval(start.lo, stop.hi - 1, True)


def r_randint(args):
    whole_args("randint", args)
    a, b = args
    if a.hi > b.lo:
        raise RangeFailure(f"can call randint(a, b) with a > b (a up to {fmt(a.hi)}, b down to "
                           f"{fmt(b.lo)})")
    return Interval(a.lo, b.hi, True)


def r_gauss(args):
    _finite_args("gauss", args)
    if len(args) == 2 and args[1].is_point and args[1].lo == 0:
        return args[0]
    return ANY


def r_lognorm(args):
    _finite_args("lognormvariate", args)
    return Interval(0.0, INF)


def r_triangular(args):
    _finite_args("triangular", args)
    if not args:
        return UNIT
    if len(args) == 1:
        args = [*args, Interval(1.0, 1.0)]
    return hull([a.lo for a in args] + [a.hi for a in args])


def r_expo(args):
    _finite_args("expovariate", args)
    lambd = args[0] if args else Interval(1.0, 1.0)
    if lambd.contains(0):
        raise RangeFailure("can call expovariate(0) (division by zero)")
    return Interval(0.0, INF) if lambd.lo > 0 else Interval(-INF, 0.0)


def r_beta(args):
    _finite_args("betavariate", args)
    _positive("betavariate", "alpha", args[0])
    _positive("betavariate", "beta", args[1])
    return UNIT


def r_gamma(args):
    _finite_args("gammavariate", args)
    _positive("gammavariate", "alpha", args[0])
    _positive("gammavariate", "beta", args[1])
    return Interval(0.0, INF)


def r_vonmises(args):
    _finite_args("vonmisesvariate", args)
    return Interval(0.0, 2 * math.pi)


def r_pareto(args):
    _finite_args("paretovariate", args)
    (alpha,) = args
    if alpha.contains(0):
        raise RangeFailure("can call paretovariate(0) (division by zero)")
    return Interval(1.0, INF) if alpha.lo > 0 else Interval(0.0, 1.0)


def r_weibull(args):
    _finite_args("weibullvariate", args)
    alpha, beta = args
    if beta.contains(0):
        raise RangeFailure("can call weibullvariate(alpha, 0) (division by zero)")
    if alpha.lo >= 0:
        return Interval(0.0, INF)
    if alpha.hi <= 0:
        return Interval(-INF, 0.0)
    return ANY
