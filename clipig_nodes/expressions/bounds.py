"""The bounds versions of the table's functions: argument Intervals -> result Interval.

Each raises RangeFailure where some argument in range makes the host version fail. See
intervals.py for the Interval and the arithmetic; the table (table.py) names one of these
for every function.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from . import hostmath
from .intervals import (BOOL, INF, UNIT, add, Interval, RangeFailure, finite, any_nan,
                        at_end, call, corners, fmt, hull, monotone, mul, neg, reciprocal)


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
                    all(a.integral for a in args), any_nan(*args))


def maximum(args: Sequence[Interval]) -> Interval:
    return Interval(max(a.lo for a in args), max(a.hi for a in args),
                    all(a.integral for a in args), any_nan(*args))


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
    top = max(abs(finite(a.lo)), abs(finite(a.hi)))
    top = 10 ** len(str(int(top))) if top < 1e300 else INF
    return Interval(-top if a.lo < 0 else 0, top if a.hi > 0 else 0, False, a.nan)


def periodic(name: str, host: Callable, peak: float):
    """sin (peaks at pi/2 + k pi) and cos (at k pi): exact bounds over short ranges."""
    def bounds(args):
        (a,) = args
        lo, hi = finite(a.lo), finite(a.hi)
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
    lo, hi = finite(a.lo), finite(a.hi)
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
    return Interval(-math.pi, math.pi, nan=any_nan(*args))


def fmod(args):
    x, y = args
    if y.contains(0):
        raise RangeFailure("can compute fmod(x, 0) (math domain error)")
    top = max(abs(y.lo), abs(y.hi))
    lo = 0.0 if x.lo >= 0 else -min(top, -x.lo)
    hi = 0.0 if x.hi <= 0 else min(top, x.hi)
    return Interval(lo, hi, nan=any_nan(x, y))


def remainder(args):
    x, y = args
    if y.contains(0):
        raise RangeFailure("can compute remainder(x, 0) (math domain error)")
    half = max(abs(y.lo), abs(y.hi)) / 2
    top = min(half, max(abs(finite(x.lo)), abs(finite(x.hi))))
    return Interval(-top, top, nan=any_nan(x, y))


def hypot(args):
    mags = [absolute([a]) for a in args]
    lo = math.hypot(*(float(finite(m.lo)) for m in mags))
    hi = math.hypot(*(float(finite(m.hi)) for m in mags))
    return Interval(lo, hi, nan=any_nan(*args))


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
            pole = min(0, math.floor(finite(a.hi)))
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
    top = finite(n.hi)
    kk = min(max(top // 2, k.lo), k.hi)
    return Interval(0, call("comb", hostmath.comb, top, finite(kk)), True)


def perm(args):
    whole_args("perm", args)
    n = args[0]
    k = args[1] if len(args) > 1 else n
    if n.lo < 0 or k.lo < 0:
        raise RangeFailure("can pass a negative number to `perm`")
    top = finite(n.hi)
    return Interval(0, call("perm", hostmath.perm, top, min(finite(k.hi), top)), True)


def gcd(args):
    whole_args("gcd", args)
    return Interval(0, max(max(abs(finite(a.lo)), abs(finite(a.hi))) for a in args), True)


def lcm(args):
    whole_args("lcm", args)
    # lcm(a, b, ...) <= |a| * |b| * ...
    tops = [max(abs(finite(a.lo)), abs(finite(a.hi))) for a in args]
    product = 1
    for top in tops:
        product = call("lcm", hostmath.checked_mul, product, top)
    return Interval(0, product, True)


def isqrt(args):
    whole_args("isqrt", args)
    return monotone("isqrt", hostmath.isqrt, integral=True)(args)


def ldexp(args):
    x, i = args
    whole_args("ldexp", [i])
    return corners("ldexp", hostmath.ldexp, x, i)


def nextafter(args):
    x, y = args
    return Interval(math.nextafter(float(finite(x.lo)), -INF),
                    math.nextafter(float(finite(x.hi)), INF), nan=any_nan(x, y))


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


# Draws start from 53-bit uniforms, and 1 - random() is never below 2**-53. So the normal
# draws of Python's gauss (Box-Muller: at most sqrt(2 * 36.74) = 8.6) and normalvariate
# (ratio of uniforms: z * z <= -4 log u, at most 12.2), and torch's, stay within
# |z| < NORMAL_MAX, and -log(1 - random()) (exponential, Weibull, Pareto) within NEG_LOG_MAX.
NORMAL_MAX = 12.5
NEG_LOG_MAX = 53 * math.log(2.0)
_SMALLEST_U = 2.0 ** -53


def _normal(args) -> Interval:
    mu = args[0] if args else Interval(0.0, 0.0)
    sigma = absolute([args[1]]) if len(args) > 1 else Interval(1.0, 1.0)
    spread = mul(sigma, Interval(0.0, NORMAL_MAX)).hi
    return add(mu, Interval(-spread, spread))


def r_gauss(args):
    _finite_args("gauss", args)
    return _normal(args)


def r_lognorm(args):
    _finite_args("lognormvariate", args)
    exponent = _normal(args)
    return Interval(0.0, at_end("lognormvariate", math.exp, exponent.hi))


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
    if lambd.lo > 0:
        return Interval(0.0, NEG_LOG_MAX / lambd.lo)
    return Interval(NEG_LOG_MAX / lambd.hi, 0.0)


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
    if alpha.hi < 0:
        return UNIT
    # u ** (-1 / alpha) with u down to 2**-53: a small alpha overflows on the host
    top = call("paretovariate", lambda a: _SMALLEST_U ** (-1.0 / a), alpha.lo)
    return Interval(1.0, top)


def r_weibull(args):
    _finite_args("weibullvariate", args)
    alpha, beta = args
    if beta.contains(0):
        raise RangeFailure("can call weibullvariate(alpha, 0) (division by zero)")
    if beta.hi < 0:         # (-log u) ** (1 / beta) with u = 1: 0 to a negative power
        raise RangeFailure("can call weibullvariate with beta < 0 (division by zero)")
    # alpha * (-log u) ** (1 / beta), -log u in [0, NEG_LOG_MAX]
    top = call("weibullvariate", lambda b: NEG_LOG_MAX ** (1.0 / b), beta.lo)
    return mul(alpha, Interval(0.0, max(top, 1.0)))
