"""Host (Python number) versions of the operators and functions that need guards.

Only integers can grow without bound (floats overflow to inf or raise), so
``*``, ``**`` and the integer functions (factorial, comb, perm, lcm) check
sizes against :data:`~.syntax.MAX_INT_BITS` *before* computing; ``round``
clamps its digits; random functions refuse the non-finite arguments that make
some of them loop forever. Every failure is an ordinary Python exception
(OverflowError, ValueError, ...) that the compiler turns into one message.
"""

from __future__ import annotations

import math
import operator
import random as _random

from .syntax import MAX_INT_BITS

# random functions get float arguments within this range; beyond it some of
# them (gammavariate, betavariate, vonmisesvariate) loop forever
MAX_RANDOM_ARG = 1e300
# ``round(x, n)`` clamps n: floats need at most ~330 digits, and ints stay below
# MAX_INT_BITS (~1233 decimal digits), so the result is the same but
# ``round(5, -10**9)`` cannot compute 10**(10**9)
_MAX_ROUND_DIGITS = 1300
_LN2 = math.log(2.0)


def too_large() -> OverflowError:
    return OverflowError("result too large")


def checked_mul(a, b):
    result = a * b
    if result.__class__ is int and result.bit_length() > MAX_INT_BITS:
        raise too_large()
    return result


def safe_pow(a, b):
    """``a ** b`` that never hangs, never eats memory and never returns complex."""
    if isinstance(a, int) and isinstance(b, int):
        if 0 <= b <= MAX_INT_BITS and a.bit_length() * b <= MAX_INT_BITS:
            return a ** b
    # math.pow: always float, raises instead of returning complex for (-8)**(1/3)
    return math.pow(a, b)


def float_power(f, n: int):
    """``f(...) ** n`` for a base that should be a float: the plain operator
    (float ** int never builds a big int or a complex), with safe_pow as the
    fallback so that a wrong type guess can never make it unbounded."""
    def power(c, r):
        x = f(c, r)
        if x.__class__ is float:
            return x ** n
        return safe_pow(x, n)
    return power


def safe_round(x, ndigits=None):
    if ndigits is None:
        return round(x)
    ndigits = operator.index(ndigits)     # round(1.5, 2.0) is a TypeError in Python too
    return round(x, max(-_MAX_ROUND_DIGITS, min(ndigits, _MAX_ROUND_DIGITS)))


def time_step(t, a, b):
    """CLIPig's ``time_step(a, b)``: a 0 -> 1 ramp over t in [a, b]."""
    if b < a:
        return 1.0 - _ramp(t, b, a)
    return _ramp(t, a, b)


def _ramp(t, a, b):
    if t < a:
        return 0.0
    if t > b or a == b:
        return 1.0
    return (t - a) / (b - a)


# ------------------------------------------------------------- integer functions

def whole(name: str, x) -> int:
    """An int from an int, a bool or a whole float (2.0); else ValueError naming `name`."""
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float) and x.is_integer():
        return int(x)
    raise ValueError(f"`{name}` needs whole numbers, got {x!r}")


def _log2_factorial(n: int) -> float:
    return math.lgamma(n + 1) / _LN2 if n < 2 ** 1000 else math.inf


def factorial(n):
    n = whole("factorial", n)
    if n < 0:
        raise ValueError("`factorial` is not defined for negative numbers")
    if _log2_factorial(n) > MAX_INT_BITS:
        raise too_large()
    return math.factorial(n)


def _check_size(lower_bits: float) -> None:
    """Refuse before computing when a lower bound of the result (in bits) is too large;
    below it, the result has at most a few times MAX_INT_BITS bits and is cheap to
    compute and check after."""
    if lower_bits > MAX_INT_BITS:
        raise too_large()


def comb(n, k):
    n, k = whole("comb", n), whole("comb", k)
    if n < 0 or k < 0:
        raise ValueError("`comb` needs non-negative arguments")
    k = min(k, n - k) if k <= n else k
    if k > n:
        return 0
    if k > 0:
        # comb(n, k) >= (n / k) ** k: refuse what is surely too large unseen
        _check_size(k * (math.log2(n) - math.log2(k)))
    result = math.comb(n, k)
    if result.bit_length() > MAX_INT_BITS:
        raise too_large()
    return result


def perm(n, k=None):
    n = whole("perm", n)
    k = n if k is None else whole("perm", k)
    if n < 0 or k < 0:
        raise ValueError("`perm` needs non-negative arguments")
    if k > n:
        return 0
    if k > 0:
        # perm(n, k) >= (n - k + 1) ** k and >= k!
        _check_size(max(k * math.log2(n - k + 1), _log2_factorial(k)))
    result = math.perm(n, k)
    if result.bit_length() > MAX_INT_BITS:
        raise too_large()
    return result


def gcd(*args):
    return math.gcd(*(whole("gcd", x) for x in args))


def lcm(*args):
    result = 1
    for x in args:
        result = math.lcm(result, whole("lcm", x))
        if result.bit_length() > MAX_INT_BITS:
            raise too_large()
    return result


def isqrt(n):
    return math.isqrt(whole("isqrt", n))


def ldexp(x, i):
    return math.ldexp(x, whole("ldexp", i))


def isclose(a, b, rel_tol=1e-9, abs_tol=0.0):
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def cbrt(x):
    """math.cbrt (Python 3.11+), with a fallback for 3.10."""
    return math.copysign(math.fabs(x) ** (1.0 / 3.0), x)


cbrt = getattr(math, "cbrt", cbrt)


def exp2(x):
    return math.pow(2.0, x)


exp2 = getattr(math, "exp2", exp2)


# ----------------------------------------------------------------- random calls

class RandomCall:
    """Calls ``random.Random.<name>`` on the given rng after checking arguments.

    ``prepare`` fills in defaults and checks the arguments. It runs once at
    compile time when they are constant, and on every call otherwise.
    Float arguments must lie within +-1e300: non-finite or huge ones make
    gammavariate, betavariate and vonmisesvariate loop forever.
    ``whole=True`` (randint, randrange) wants whole numbers; 2.0 becomes 2.
    """

    def __init__(self, name: str, *defaults: float, whole: bool = False):
        self.name = name
        self.method = getattr(_random.Random, name)
        self.defaults = defaults
        self.whole = whole

    def prepare(self, args: tuple) -> tuple:
        if len(args) < len(self.defaults):
            args += self.defaults[len(args):]
        if self.whole:
            return tuple(whole(self.name, x) for x in args)
        for x in args:
            # exact for ints of any size too; NaN fails every comparison
            if not -MAX_RANDOM_ARG <= x <= MAX_RANDOM_ARG:
                raise ValueError(f"`{self.name}` needs finite arguments, got {x!r}")
        return args

    def __call__(self, rng: _random.Random, *args):
        return self.method(rng, *self.prepare(args))
