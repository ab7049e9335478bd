"""The one table of the language: every variable, constant and function.

Each function entry holds its three versions: ``host`` (Python numbers, used
for per-epoch values and constant folding), ``tensor`` (the name of its torch
version in tensor.py: ``torch.<name>`` or one of tensor.IMPLS; names, so that
this module imports without torch) and ``bounds`` (interval arithmetic for the
range analysis, intervals.py). docs/expressions.md is checked against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from . import hostmath
from . import bounds as iv
from .intervals import monotone, power
from .groups import LEARNRATE, RESOLUTION, TARGET_FEATURE, TIME


@dataclass(frozen=True)
class Function:
    name: str
    host: Callable
    tensor: str                 # "torch.<fn>" or a key of tensor.IMPLS
    bounds: Callable            # list[Interval] -> Interval, or raises RangeFailure
    min_args: int = 1
    max_args: int | None = 1    # None: any number
    doc: str = ""
    random: bool = False        # host is a RandomCall (takes the rng first)
    returns_int: bool = False   # may return an int (size checks downstream)
    defaults: tuple = ()        # random: values for missing trailing arguments
    raw_args: bool = False      # tensor version gets the arguments after the first as given
    float_args: bool = False    # the host converts the arguments to float (huge ints fail)


def _math(name, host=None, tensor=None, bounds=None, n_min=1, n_max=None, doc="", **kw):
    host = host or getattr(math, name)
    kw.setdefault("float_args", True)
    return Function(name, host, tensor or f"torch.{name}",
                    bounds or monotone(name, host), n_min,
                    n_min if n_max is None else n_max, doc, **kw)


def _random(name, bounds, n_min, n_max, doc, *defaults, whole=False, returns_int=False):
    return Function(name, hostmath.RandomCall(name, *defaults, whole=whole), f"r_{name}",
                    bounds, n_min, n_max, doc, random=True, returns_int=returns_int,
                    defaults=defaults)


_ENTRIES = [
    # builtins
    Function("abs", abs, "torch.abs", iv.absolute, doc="absolute value", returns_int=True),
    Function("min", min, "t_min", iv.minimum, 2, None, "smallest argument (or of res)",
             returns_int=True),
    Function("max", max, "t_max", iv.maximum, 2, None, "largest argument (or of res)",
             returns_int=True),
    Function("round", hostmath.safe_round, "t_round", iv.rounding, 1, 2,
             "round(x) to an int, round(x, n) to n digits (half to even)", returns_int=True,
             raw_args=True),
    Function("int", int, "torch.trunc", iv.to_int("int", int),
             doc="whole part (towards zero)", returns_int=True),
    Function("float", float, "t_float", iv.to_float, doc="as a float", float_args=True),
    Function("bool", bool, "t_bool", iv.to_bool, doc="1 (true) unless 0", returns_int=True),
    # math (``pow`` is math.pow, as in CLIPig's ``from math import *``)
    _math("pow", math.pow, "torch.pow", lambda a: power(a[0], a[1], "pow", math.pow), 2,
          doc="x to the power y (always a float)"),
    _math("sqrt", doc="square root"),
    _math("exp", doc="e to the power x"),
    # math.log, log2 and log10 take ints of any size
    _math("log", tensor="t_log", bounds=iv.logarithm, n_max=2,
          doc="natural logarithm; log(x, base)", float_args=False),
    _math("log2", doc="base-2 logarithm", float_args=False),
    _math("log10", doc="base-10 logarithm", float_args=False),
    _math("sin", bounds=iv.periodic("sin", math.sin, math.pi / 2), doc="sine (radians)"),
    _math("cos", bounds=iv.periodic("cos", math.cos, 0.0), doc="cosine (radians)"),
    _math("tan", bounds=iv.tangent, doc="tangent (radians)"),
    _math("asin", doc="arc sine"),
    _math("acos", doc="arc cosine"),
    _math("atan", doc="arc tangent"),
    _math("atan2", bounds=iv.atan2, n_min=2, doc="atan2(y, x): angle of the point (x, y)"),
    _math("sinh", doc="hyperbolic sine"),
    _math("cosh", bounds=iv.hyperbolic_cosine, doc="hyperbolic cosine"),
    _math("tanh", doc="hyperbolic tangent"),
    _math("asinh", doc="inverse hyperbolic sine"),
    _math("acosh", doc="inverse hyperbolic cosine"),
    _math("atanh", doc="inverse hyperbolic tangent"),
    _math("floor", bounds=iv.to_int("floor", math.floor), doc="largest int <= x",
          returns_int=True, float_args=False),
    _math("ceil", bounds=iv.to_int("ceil", math.ceil), doc="smallest int >= x",
          returns_int=True, float_args=False),
    _math("trunc", bounds=iv.to_int("trunc", math.trunc), doc="whole part (towards zero)",
          returns_int=True, float_args=False),
    _math("fmod", bounds=iv.fmod, n_min=2, doc="fmod(x, y): remainder with the sign of x"),
    Function("hypot", math.hypot, "t_hypot", iv.hypot, 2, None,
             "length of the vector of the arguments", float_args=True),
    _math("degrees", tensor="torch.rad2deg", doc="radians to degrees"),
    _math("radians", tensor="torch.deg2rad", doc="degrees to radians"),
    _math("copysign", bounds=iv.copysign, n_min=2, doc="copysign(x, y): |x| with the sign of y"),
    _math("fabs", tensor="torch.abs", bounds=iv.fabs, doc="absolute value as a float"),
    _math("erf", doc="error function"),
    _math("erfc", doc="1 - erf(x)"),
    _math("log1p", doc="log(1 + x), exact for small x"),
    _math("expm1", doc="exp(x) - 1, exact for small x"),
    _math("gamma", tensor="t_gamma", bounds=iv.gamma_like("gamma", math.gamma, 1.4616321449683622),
          doc="the gamma function"),
    _math("lgamma", bounds=iv.gamma_like("lgamma", math.lgamma, 1.4616321449683622),
          doc="log of the absolute value of gamma"),
    _math("cbrt", hostmath.cbrt, "t_cbrt", doc="cube root"),
    _math("exp2", hostmath.exp2, doc="2 to the power x"),
    _math("ldexp", hostmath.ldexp, bounds=iv.ldexp, n_min=2,
          doc="ldexp(x, i): x * 2**i for a whole i"),
    _math("remainder", tensor="t_remainder", bounds=iv.remainder, n_min=2,
          doc="remainder(x, y): IEEE remainder, x - n*y with n the nearest int to x/y"),
    _math("isnan", tensor="t_isnan", bounds=iv.predicate, doc="1 if x is NaN",
          returns_int=True),
    _math("isinf", tensor="t_isinf", bounds=iv.predicate, doc="1 if x is infinite",
          returns_int=True),
    _math("isfinite", tensor="t_isfinite", bounds=iv.predicate,
          doc="1 if x is neither infinite nor NaN", returns_int=True),
    _math("isclose", hostmath.isclose, "t_isclose", iv.predicate, 2, 4,
          doc="isclose(a, b[, rel_tol[, abs_tol]]): 1 if a and b are close "
              "(defaults 1e-9 and 0)", returns_int=True),
    _math("factorial", hostmath.factorial, "t_factorial", iv.factorial,
          doc="n! for a whole n >= 0 (at most 4096 bits)", returns_int=True,
          float_args=False),
    _math("comb", hostmath.comb, "t_comb", iv.comb, 2,
          doc="comb(n, k): ways to choose k of n (whole numbers)", returns_int=True,
          float_args=False),
    _math("perm", hostmath.perm, "t_perm", iv.perm, 1, 2,
          doc="perm(n[, k]): ordered ways to choose k of n", returns_int=True,
          float_args=False),
    Function("gcd", hostmath.gcd, "t_gcd", iv.gcd, 2, None,
             "greatest common divisor of whole numbers", returns_int=True),
    Function("lcm", hostmath.lcm, "t_lcm", iv.lcm, 2, None,
             "least common multiple of whole numbers", returns_int=True),
    _math("isqrt", hostmath.isqrt, "t_isqrt", iv.isqrt, doc="whole square root of a whole n >= 0",
          returns_int=True, float_args=False),
    _math("nextafter", bounds=iv.nextafter, n_min=2,
          doc="nextafter(x, y): the next float after x towards y"),
    _math("ulp", tensor="t_ulp", bounds=iv.ulp, doc="the value of the last bit of x"),
    # random: drawn from the rng passed to Expression.__call__ (host) or the
    # run's device generator (tensor), one draw per call or per sample
    _random("random", iv.r_random, 0, 0, "uniform in [0, 1)"),
    _random("uniform", iv.r_uniform, 2, 2, "uniform(a, b): uniform between a and b"),
    _random("randint", iv.r_randint, 2, 2, "randint(a, b): a whole number in [a, b]",
            whole=True, returns_int=True),
    _random("randrange", iv.r_randrange, 1, 3,
            "randrange([start,] stop[, step]): a whole number in [start, stop)",
            whole=True, returns_int=True),
    _random("gauss", iv.r_gauss, 0, 2, "gauss(mu=0, sigma=1): normal distribution", 0.0, 1.0),
    _random("normalvariate", iv.r_gauss, 0, 2, "the same as gauss", 0.0, 1.0),
    _random("lognormvariate", iv.r_lognorm, 2, 2, "lognormvariate(mu, sigma): exp of a normal"),
    _random("triangular", iv.r_triangular, 0, 3,
            "triangular(low=0, high=1[, mode]): triangular distribution", 0.0, 1.0),
    _random("expovariate", iv.r_expo, 0, 1, "expovariate(lambd=1): exponential distribution",
            1.0),
    _random("betavariate", iv.r_beta, 2, 2, "betavariate(alpha, beta) in [0, 1]"),
    _random("gammavariate", iv.r_gamma, 2, 2, "gammavariate(alpha, beta) >= 0"),
    _random("vonmisesvariate", iv.r_vonmises, 2, 2,
            "vonmisesvariate(mu, kappa): an angle in [0, 2 pi)"),
    _random("paretovariate", iv.r_pareto, 1, 1, "paretovariate(alpha) >= 1"),
    _random("weibullvariate", iv.r_weibull, 2, 2, "weibullvariate(alpha, beta) >= 0"),
]

FUNCTIONS: dict[str, Function] = {f.name: f for f in _ENTRIES}

CONSTANTS: dict[str, float] = {
    "pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf, "nan": math.nan,
}


# --------------------------------------------------------------------- variables

@dataclass(frozen=True)
class Variable:
    """A name that reads one canonical context key, maybe as (1 - key) ** power."""
    name: str
    group: str
    key: str
    power: int = 1
    inverse: bool = False
    doc: str = ""

    def of(self, x):
        """The variable's value from its key's value x (a number or a tensor)."""
        base = 1.0 - x if self.inverse else x
        return base if self.power == 1 else base ** self.power


def _time_variables():
    yield Variable("epoch", TIME, "epoch", doc="the epoch index, from 0")
    for name in ("time", "t"):
        yield Variable(name, TIME, "t", doc="0 at the first epoch, 1 at the last")
    for n in range(2, 6):
        for prefix in ("time", "t"):
            yield Variable(f"{prefix}{n}", TIME, "t", n, doc=f"t ** {n}")
    for name in ("time_inverse", "ti"):
        yield Variable(name, TIME, "t", 1, True, doc="1 - t")
    for n in range(2, 6):
        for prefix in ("time_inverse", "ti"):
            yield Variable(f"{prefix}{n}", TIME, "t", n, True, doc=f"(1 - t) ** {n}")


VARIABLES: dict[str, Variable] = {v.name: v for v in (
    *_time_variables(),
    Variable("width", RESOLUTION, "width", doc="the image width (res[0])"),
    Variable("height", RESOLUTION, "height", doc="the image height (res[1])"),
    *(Variable(n, LEARNRATE, "lr", doc="the effective learning rate") for n in ("learnrate", "lr")),
    *(Variable(n, LEARNRATE, "lrs", doc="the train node's learnrate_scale")
      for n in ("learnrate_scale", "lrs")),
    *(Variable(n, TARGET_FEATURE, "sim", doc="the similarity (feature or target)")
      for n in ("similarity", "sim")),
)}

#: ``res``/``resolution`` is the pair (width, height): only res[i], min(res), max(res)
PAIR_NAMES = ("resolution", "res")
#: ``ts(a, b)``/``time_step(a, b)``: a 0 -> 1 ramp of t from t = a to t = b
TIME_STEP_NAMES = ("time_step", "ts")

#: context keys that hold ints (products of them are size-checked)
INT_KEYS = frozenset({"epoch", "width", "height"})
