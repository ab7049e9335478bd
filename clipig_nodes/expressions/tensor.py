"""Expressions evaluated for a whole batch at once, on the device.

`evaluate_batch(expr, p)` computes an already compiled
:class:`~clipig_nodes.expressions.Expression` for every sample of a stage call
and returns a float32 tensor [p.B] on p.device. It is used by
`StageParams.tensor` for the expressions whose value differs per sample: those
that draw random numbers (one draw per sample, from the run's device
generator) or read `sim` (each sample's similarity).

Safety: the same as the host compiler. The source text is only parsed
(`ast.parse(mode="eval")` runs nothing; `compile_expression` has already
checked it), and the tree is walked over the same whitelist of node types. Each
accepted node becomes a closure whose only callables come from the table
(table.py: each function's `tensor` names its version here, in IMPLS or in
torch); nothing from a file reaches eval, exec or compile(). Compiled closures
are cached per (source, groups).

Values: parts that depend only on constants and the epoch's values (t, epoch,
width, ...) stay Python numbers and follow Python semantics exactly. As soon as
a tensor is involved (sim, a random draw), the value is a tensor on the
device, in float64 where the device has it (float32 elsewhere, e.g. MPS), and
the result is cast to float32 at the end.

Errors: nothing here may sync with the host (no `.item()`, `float(tensor)`,
`bool(tensor)`), so the tensor parts cannot raise. They follow torch semantics:
division by zero gives inf or nan, math domain errors (sqrt(-1), log(0),
acos(2)) give nan or -inf, overflow gives inf, and a random function with
invalid parameters (randint(3, 1), gammavariate(-1, 1), ...) gives nan for the
samples concerned. A Python-only part that raises (1/t at t = 0) is recomputed
the same way, with torch, so both parts behave alike. Comparisons and
`not`/`bool` give 1.0 or 0.0; `a or b` is `where(a != 0, a, b)`, `a and b` is
`where(a != 0, b, a)`, `a if c else b` is `where(c != 0, a, b)` (both branches
are computed when c is a tensor; a Python c still picks one lazily).
Non-whole arguments of randint/randrange are not refused (Python raises).
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch

from .host import Expression
from .hostmath import checked_mul, safe_pow
from .syntax import ExpressionError, handlers
from .table import CONSTANTS, FUNCTIONS, PAIR_NAMES, TIME_STEP_NAMES, VARIABLES

__all__ = ["evaluate_batch", "working_dtype"]

_PY_ERRORS = (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError)

# Random functions whose samplers use rejection run this many rounds at once
# and keep the first accepted candidate. The acceptance rate per round is
# above 0.95 (gamma) and 0.65 (von Mises), so falling through all rounds has
# a probability below 1e-14; such a sample then gets a fixed fallback value.
_GAMMA_ROUNDS = 12
_VONMISES_ROUNDS = 32


def working_dtype(device: torch.device) -> torch.dtype:
    """float64 where the device supports it (CPU, CUDA), else float32."""
    return torch.float64 if device.type in ("cpu", "cuda") else torch.float32


# ---------------------------------------------------------------------------- run-time env

class _Env:
    """What a compiled closure reads: the epoch's Python values, sim, the rng."""

    __slots__ = ("vars", "sim", "B", "device", "dtype", "gen")

    def __init__(self, variables, sim, batch, device, dtype, gen):
        self.vars = variables
        self.sim = sim
        self.B = batch
        self.device = device
        self.dtype = dtype
        self.gen = gen

    def full(self, value) -> torch.Tensor:
        """A Python number as a 0-dim tensor (a fill kernel: no host-to-device copy)."""
        return torch.full((), _to_float(value), dtype=self.dtype, device=self.device)

    def t(self, value) -> torch.Tensor:
        return value if isinstance(value, torch.Tensor) else self.full(value)

    def rand(self, *shape) -> torch.Tensor:
        return torch.rand(shape or (self.B,), generator=self.gen, device=self.device,
                          dtype=self.dtype)

    def randn(self, *shape) -> torch.Tensor:
        return torch.randn(shape or (self.B,), generator=self.gen, device=self.device,
                           dtype=self.dtype)


def _to_float(value) -> float:
    try:
        return float(value)
    except OverflowError:       # an int beyond the float range
        return math.inf if value > 0 else -math.inf


def _is_t(value) -> bool:
    return isinstance(value, torch.Tensor)


def _num(value):
    """Operand for a torch operator: tensors as they are, Python numbers as floats."""
    return value if _is_t(value) else _to_float(value)


def _truth(env: _Env, value):
    """Python truthiness as a float tensor (or a Python bool for a Python value)."""
    if _is_t(value):
        return (value != 0).to(env.dtype)
    return bool(value)


# ---------------------------------------------------------------------------- compiled nodes

Fn = Callable[[_Env], Any]


@dataclass(frozen=True, slots=True)
class _Node:
    fn: Fn
    const: bool = False
    value: Any = None
    pair: bool = False          # res / resolution: only inside res[i], min(res), max(res)


def _const(value) -> _Node:
    return _Node(fn=lambda env: value, const=True, value=value)


def _fold(fn: Fn, children: list[_Node], random: bool = False) -> _Node:
    """A node computed by fn; folded to a constant when its children are constants."""
    if not random and all(ch.const for ch in children):
        try:
            return _const(fn(None))
        except Exception:       # needs the env (torch fallback): compute at run time
            pass
    return _Node(fn=fn)


# ---------------------------------------------------------------------------- operators

def _binary(py_op: Callable, torch_op: Callable, compare: bool = False):
    """op(env, a, b): Python semantics for two Python numbers, torch otherwise."""
    def apply(env, a, b):
        if not _is_t(a) and not _is_t(b):
            try:
                return py_op(a, b)
            except _PY_ERRORS:
                if env is None:
                    raise
                a, b = env.full(a), env.full(b)
        else:
            a, b = _num(a), _num(b)
        result = torch_op(a, b)
        return result.to(env.dtype) if compare else result
    return apply


_BINARY = {
    ast.Add: _binary(operator.add, operator.add),
    ast.Sub: _binary(operator.sub, operator.sub),
    ast.Mult: _binary(checked_mul, operator.mul),
    ast.Div: _binary(operator.truediv, operator.truediv),
    ast.FloorDiv: _binary(operator.floordiv, operator.floordiv),
    ast.Mod: _binary(operator.mod, operator.mod),
    ast.Pow: _binary(safe_pow, operator.pow),
}

_COMPARE = {
    ast.Eq: _binary(operator.eq, operator.eq, True),
    ast.NotEq: _binary(operator.ne, operator.ne, True),
    ast.Lt: _binary(operator.lt, operator.lt, True),
    ast.LtE: _binary(operator.le, operator.le, True),
    ast.Gt: _binary(operator.gt, operator.gt, True),
    ast.GtE: _binary(operator.ge, operator.ge, True),
}


def _where(env, cond, a, b):
    """torch.where(cond != 0, a, b) with Python numbers allowed for a and b."""
    return torch.where(cond != 0, env.t(a), env.t(b))


# ---------------------------------------------------------------------------- functions
# Each function: a Python implementation (used when every argument is a Python
# number; on error the torch one takes over) and a torch implementation that
# gets env and tensor arguments.

def _t_min(env, *args):
    # Python's min keeps the first of equal values and skips NaN candidates
    # after the first argument: min(a, b) is b if b < a else a
    result = args[0]
    for x in args[1:]:
        result = torch.where(x < result, x, result)
    return result


def _t_max(env, *args):
    result = args[0]
    for x in args[1:]:
        result = torch.where(x > result, x, result)
    return result


def _t_hypot(env, *args):
    result = args[0].abs()
    for x in args[1:]:
        result = torch.hypot(result, x)
    return result


def _t_log(env, x, base=None):
    if base is None:
        return torch.log(x)
    return torch.log(x) / torch.log(base)


def _two_product(a, b):
    """(p, err) with p = fl(a*b) and a*b = p + err exactly (Dekker; float64, no overflow)."""
    p = a * b
    split = 134217729.0       # 2**27 + 1
    ca, cb = split * a, split * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, err


def _round_digits(x, ndigits: int):
    """Python's round(x, ndigits) for a float64 tensor and a Python int.

    For |ndigits| <= 22 (10**n exact) the result equals Python's: the scaled
    value and its exact rounding error decide ties, so round(2.675, 2) is 2.67
    as in Python (2.675 is stored slightly below). Beyond, torch.round.
    """
    if ndigits > 308:
        return x
    if ndigits < -308:
        return x * 0.0
    if x.dtype != torch.float64 or abs(ndigits) > 22:
        return torch.round(x, decimals=ndigits)
    scale = float(10 ** abs(ndigits))
    if ndigits >= 0:
        y, err = _two_product(x, torch.full_like(x, scale))
    else:
        y = x / scale
        prod, perr = _two_product(y, torch.full_like(x, scale))
        err = (x - prod - perr) / scale       # sign of the exact x/scale - y
    r = torch.round(y)
    tie = (y - torch.floor(y)) == 0.5
    r = torch.where(tie & (err > 0), torch.ceil(y), r)
    r = torch.where(tie & (err < 0), torch.floor(y), r)
    result = r / scale if ndigits >= 0 else r * scale
    # huge values are integers at this scale already; non-finite stay as they are
    keep = ~torch.isfinite(y) | (y.abs() >= 2.0 ** 52)
    return torch.where(keep, x, result)


def _t_round(env, x, ndigits=None):
    if ndigits is None:
        return torch.round(x)         # half to even, as Python
    if not _is_t(ndigits):
        try:
            return _round_digits(x, operator.index(ndigits))
        except TypeError:       # round(x, 2.0): Python refuses; truncate it, as below
            ndigits = env.full(ndigits)
    # a per-sample number of digits (rare): scale, round, unscale
    n = torch.trunc(ndigits).clamp(-308, 308)
    scale = torch.pow(10.0, n.abs())
    up = torch.round(x * scale) / scale
    down = torch.round(x / scale) * scale
    return torch.where(n >= 0, up, down)


# ---------------------------------------------------------------------------- random functions
# Each takes env and its arguments as tensors (0-dim or [B]) and returns [B]:
# one draw per sample from the run's device generator, following the
# algorithm of Python's random module where that is cheap to vectorise.

_NAN = math.nan


def _r_random(env):
    return env.rand()


def _r_uniform(env, a, b):
    return a + (b - a) * env.rand()


def _r_randrange(env, start, stop=None, step=None):
    if stop is None:
        start, stop = torch.zeros_like(start), start
    if step is None:
        step = torch.ones_like(start)
    n = torch.ceil((stop - start) / step)           # number of values in the range
    k = torch.floor(env.rand() * n)
    k = torch.minimum(k, n - 1)                     # float rounding near 1
    value = start + step * k
    return torch.where((n > 0) & (step != 0), value, _NAN)


def _r_randint(env, a, b):
    return _r_randrange(env, a, b + 1)


def _r_gauss(env, mu, sigma):
    return mu + sigma * env.randn()


def _r_lognorm(env, mu, sigma):
    return torch.exp(mu + sigma * env.randn())


def _r_triangular(env, low, high, mode=None):
    u = env.rand()
    width = high - low
    c = torch.full_like(u, 0.5) if mode is None else (mode - low) / width
    flip = u > c
    u = torch.where(flip, 1.0 - u, u)
    c = torch.where(flip, 1.0 - c, c)
    lo = torch.where(flip, high, low)
    hi = torch.where(flip, low, high)
    value = lo + (hi - lo) * torch.sqrt(u * c)
    if mode is None:
        return value
    return torch.where(width == 0, low + 0 * u, value)       # Python returns low


def _r_expo(env, lambd):
    return -torch.log(1.0 - env.rand()) / lambd


def _first_accepted(ok, candidates, fallback):
    """Per column of ok [K,B]: the candidate of the first accepted round."""
    rounds = ok.shape[0]
    index = torch.arange(rounds, device=ok.device).unsqueeze(1).expand_as(ok)
    first = torch.where(ok, index, rounds).amin(dim=0)                 # [B]
    picked = candidates.gather(0, first.clamp(max=rounds - 1).unsqueeze(0))[0]
    return torch.where(first < rounds, picked, fallback)


def _standard_gamma(env, alpha):
    """Gamma(alpha, 1) per sample: Marsaglia-Tsang, boosted for alpha < 1."""
    alpha = alpha.expand(env.B)
    boost = alpha < 1
    a = torch.where(boost, alpha + 1, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    x = env.randn(_GAMMA_ROUNDS, env.B)
    u = env.rand(_GAMMA_ROUNDS, env.B)
    v = (1.0 + c * x) ** 3
    ok = (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * torch.log(v))
    sample = _first_accepted(ok, d * v, d)
    u2 = env.rand()
    sample = torch.where(boost, sample * u2 ** (1.0 / alpha), sample)
    return torch.where(alpha > 0, sample, _NAN)


def _r_gamma(env, alpha, beta):
    return torch.where(beta > 0, _standard_gamma(env, alpha) * beta, _NAN)


def _r_beta(env, alpha, beta):
    y = _standard_gamma(env, alpha)
    y2 = _standard_gamma(env, beta)
    return torch.where(y != 0, y / (y + y2), 0.0)


def _r_vonmises(env, mu, kappa):
    """Fisher's algorithm as in Python's random.vonmisesvariate, rounds run at once."""
    kappa = kappa.expand(env.B)
    small = kappa <= 1e-6
    safe_kappa = torch.where(small, 1.0, kappa)
    s = 0.5 / safe_kappa
    r = s + torch.sqrt(1.0 + s * s)
    u1 = env.rand(_VONMISES_ROUNDS, env.B)
    z = torch.cos(math.pi * u1)
    d = z / (r + z)
    u2 = env.rand(_VONMISES_ROUNDS, env.B)
    ok = (u2 < 1.0 - d * d) | (u2 <= (1.0 - d) * torch.exp(d))
    z = _first_accepted(ok, z, z[-1])
    q = 1.0 / r
    f = (q + z) / (1.0 + q * z)
    u3 = env.rand()
    angle = torch.acos(f)
    theta = torch.where(u3 > 0.5, (mu + angle) % math.tau, (mu - angle) % math.tau)
    return torch.where(small, math.tau * env.rand(), theta)


def _r_pareto(env, alpha):
    u = 1.0 - env.rand()
    return u ** (-1.0 / alpha)


def _r_weibull(env, alpha, beta):
    u = 1.0 - env.rand()
    return alpha * (-torch.log(u)) ** (1.0 / beta)


# ---------------------------------------------------------------------------- more math
# Python raises where these are undefined (a pole, a negative or fractional
# argument of an integer function); here those samples get nan.

def _whole(x):
    return torch.isfinite(x) & (x == torch.floor(x))


def _t_gamma(env, x):
    value = torch.exp(torch.lgamma(x))
    negative = (x < 0) & (torch.remainder(torch.floor(x), 2) == 1)
    value = torch.where(negative, -value, value)
    return torch.where((x <= 0) & (x == torch.floor(x)), _NAN, value)


def _t_cbrt(env, x):
    return torch.sign(x) * x.abs() ** (1.0 / 3.0)


def _t_remainder(env, x, y):
    """IEEE remainder as math.remainder: x - n*y, n the nearest int to x/y (ties even)."""
    r = torch.fmod(x, y)                       # exact, sign of x
    ay = y.abs()
    r = torch.where(r.abs() > ay / 2, r - torch.copysign(ay, r), r)
    tie = r.abs() == ay / 2
    odd = torch.remainder(torch.round((x - r) / y), 2) != 0
    r = torch.where(tie & odd, -r, r)
    return torch.where((y == 0) | torch.isinf(x), _NAN, r)


def _predicate(test):
    return lambda env, x: test(x).to(env.dtype)


def _t_isclose(env, a, b, rel_tol=1e-9, abs_tol=0.0):
    rel_tol, abs_tol = env.t(rel_tol), env.t(abs_tol)
    diff = (a - b).abs()
    limit = torch.maximum(rel_tol * torch.maximum(a.abs(), b.abs()), abs_tol)
    close = (a == b) | (torch.isfinite(a) & torch.isfinite(b) & (diff <= limit))
    return torch.where((rel_tol < 0) | (abs_tol < 0), _NAN, close.to(env.dtype))


def _exact(value):
    """Round a value computed through lgamma to the whole number it stands for."""
    return torch.where(value < 2.0 ** 53, torch.round(value), value)


def _t_factorial(env, n):
    value = _exact(torch.exp(torch.lgamma(n + 1)))
    return torch.where(_whole(n) & (n >= 0), value, _NAN)


def _t_comb(env, n, k):
    log = torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
    value = torch.where(k > n, 0.0, _exact(torch.exp(log)))
    return torch.where(_whole(n) & _whole(k) & (n >= 0) & (k >= 0), value, _NAN)


def _t_perm(env, n, k=None):
    if k is None:
        return _t_factorial(env, n)
    log = torch.lgamma(n + 1) - torch.lgamma(n - k + 1)
    value = torch.where(k > n, 0.0, _exact(torch.exp(log)))
    return torch.where(_whole(n) & _whole(k) & (n >= 0) & (k >= 0), value, _NAN)


# Euclid's algorithm needs at most ~92 steps for numbers below 2**64 (Fibonacci)
_GCD_STEPS = 96


def _gcd2(a, b):
    a, b = a.abs(), b.abs()
    a, b = torch.broadcast_tensors(a, b)
    for _ in range(_GCD_STEPS):
        nonzero = b != 0
        r = torch.fmod(a, torch.where(nonzero, b, 1.0))
        a, b = torch.where(nonzero, b, a), torch.where(nonzero, r, 0.0)
    return a


def _t_gcd(env, *args):
    result = args[0]
    valid = _whole(result)
    for x in args[1:]:
        result = _gcd2(result, x)
        valid = valid & _whole(x)
    return torch.where(valid, result, _NAN)


def _t_lcm(env, *args):
    result = args[0].abs()
    valid = _whole(result)
    for x in args[1:]:
        g = _gcd2(result, x)
        result = torch.where(g == 0, 0.0, (result * x).abs() / torch.where(g == 0, 1.0, g))
        valid = valid & _whole(x)
    return torch.where(valid, result, _NAN)


def _t_isqrt(env, n):
    r = torch.floor(torch.sqrt(n))
    r = torch.where(r * r > n, r - 1, r)
    r = torch.where((r + 1) * (r + 1) <= n, r + 1, r)
    return torch.where(_whole(n) & (n >= 0), r, _NAN)


def _t_ulp(env, x):
    a = x.abs()
    up = torch.nextafter(a, torch.full_like(a, math.inf))
    value = torch.where(torch.isinf(up), a - torch.nextafter(a, torch.zeros_like(a)), up - a)
    return torch.where(torch.isinf(a), a, value)


#: the tensor versions named by the table (table.py, ``Function.tensor``)
IMPLS: dict[str, Callable] = {
    "t_min": _t_min, "t_max": _t_max, "t_hypot": _t_hypot, "t_log": _t_log,
    "t_round": _t_round, "t_float": lambda env, x: x,
    "t_bool": lambda env, x: (x != 0).to(env.dtype),
    "t_gamma": _t_gamma, "t_cbrt": _t_cbrt, "t_remainder": _t_remainder,
    "t_isnan": _predicate(torch.isnan), "t_isinf": _predicate(torch.isinf),
    "t_isfinite": _predicate(torch.isfinite), "t_isclose": _t_isclose,
    "t_factorial": _t_factorial, "t_comb": _t_comb, "t_perm": _t_perm,
    "t_gcd": _t_gcd, "t_lcm": _t_lcm, "t_isqrt": _t_isqrt, "t_ulp": _t_ulp,
    # random samplers, one draw per sample
    "r_random": _r_random, "r_uniform": _r_uniform, "r_randint": _r_randint,
    "r_randrange": _r_randrange, "r_gauss": _r_gauss, "r_normalvariate": _r_gauss,
    "r_lognormvariate": _r_lognorm, "r_triangular": _r_triangular, "r_expovariate": _r_expo,
    "r_betavariate": _r_beta, "r_gammavariate": _r_gamma, "r_vonmisesvariate": _r_vonmises,
    "r_paretovariate": _r_pareto, "r_weibullvariate": _r_weibull,
}


@functools.lru_cache(maxsize=None)
def tensor_version(function) -> Callable:
    """The callable (env, *tensor args) named by a table entry's ``tensor``."""
    name = function.tensor
    if name.startswith("torch."):
        torch_fn = getattr(torch, name[len("torch."):])
        return lambda env, *args: torch_fn(*args)
    return IMPLS[name]


# ---------------------------------------------------------------------------- variables

def _read(key: str) -> _Node:
    if key == "sim":
        return _Node(fn=lambda env: env.sim)
    return _Node(fn=lambda env: env.vars[key])


def _variable(name: str) -> _Node:
    """A variable of the table: a read, or a power of t or of 1 - t (as on the host)."""
    v = VARIABLES[name]
    key = v.key
    if not v.inverse and v.power == 1:
        return _read(key)
    return _Node(fn=lambda env: v.of(env.vars[key]))


def _time_step(env, t, a, b):
    """CLIPig's ts(a, b): 0 -> 1 over t in [a, b]; swapped bounds invert the ramp."""
    if not _is_t(a) and not _is_t(b):
        lo, hi = (b, a) if b < a else (a, b)
        value = 0.0 if t < lo else 1.0 if (t > hi or lo == hi) else (t - lo) / (hi - lo)
        return 1.0 - value if b < a else value
    a, b = env.t(a), env.t(b)
    swap = b < a
    lo, hi = torch.where(swap, b, a), torch.where(swap, a, b)
    ramp = (t - lo) / (hi - lo)
    value = torch.where(t < lo, 0.0, torch.where((t > hi) | (lo == hi), 1.0, ramp))
    return torch.where(swap, 1.0 - value, value)


# ---------------------------------------------------------------------------- the compiler

class _Compiler:
    """Walks the whitelisted node types of clipig_nodes.expressions into torch closures."""

    def __init__(self, source: str, groups: frozenset[str]):
        self.source = source
        self.groups = groups

    def number(self, node: ast.AST) -> _Node:
        result = self.any(node)
        if result.pair:
            raise ExpressionError(f"`{node.id}` is a (width, height) pair")
        return result

    def any(self, node: ast.AST) -> _Node:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise ExpressionError(f"{type(node).__name__} is not allowed in expressions")
        return handler(self, node)

    # -- leaves

    def _Expression(self, node: ast.Expression) -> _Node:
        return self.number(node.body)

    def _Constant(self, node: ast.Constant) -> _Node:
        if isinstance(node.value, (bool, int, float)):
            return _const(node.value)
        raise ExpressionError(f"{type(node.value).__name__} constants are not allowed")

    def _Name(self, node: ast.Name) -> _Node:
        name = node.id
        if name.startswith("_"):
            raise ExpressionError(f"names starting with _ are not allowed (`{name}`)")
        if name in VARIABLES:
            return _variable(name)
        if name in PAIR_NAMES:
            return _Node(fn=lambda env: (env.vars["width"], env.vars["height"]), pair=True)
        if name in CONSTANTS:
            return _const(CONSTANTS[name])
        raise ExpressionError(f"unknown name `{name}`")

    # -- operators

    def _UnaryOp(self, node: ast.UnaryOp) -> _Node:
        operand = self.number(node.operand)
        f = operand.fn
        if isinstance(node.op, ast.USub):
            fn = lambda env: -f(env)
        elif isinstance(node.op, ast.UAdd):
            fn = lambda env: +f(env)
        elif isinstance(node.op, ast.Not):
            def fn(env):
                value = f(env)
                return (value == 0).to(env.dtype) if _is_t(value) else not value
        else:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        return _fold(fn, [operand])

    def _BinOp(self, node: ast.BinOp) -> _Node:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        left, right = self.number(node.left), self.number(node.right)
        f, g = left.fn, right.fn
        return _fold(lambda env: op(env, f(env), g(env)), [left, right])

    def _BoolOp(self, node: ast.BoolOp) -> _Node:
        is_and = isinstance(node.op, ast.And)
        operands = [self.number(v) for v in node.values]
        fns = tuple(op.fn for op in operands)

        def fn(env):
            value = fns[0](env)
            for g in fns[1:]:
                if not _is_t(value):            # Python value: short-circuit as Python
                    if bool(value) != is_and:
                        return value
                    value = g(env)
                    continue
                other = g(env)
                if is_and:
                    value = _where(env, value, other, value)
                else:
                    value = _where(env, value, value, other)
            return value
        return _fold(fn, operands)

    def _Compare(self, node: ast.Compare) -> _Node:
        ops = []
        for op in node.ops:
            compare = _COMPARE.get(type(op))
            if compare is None:
                raise ExpressionError(f"comparison {type(op).__name__} is not allowed")
            ops.append(compare)
        operands = [self.number(v) for v in [node.left, *node.comparators]]
        first = operands[0].fn
        steps = tuple(zip(ops, (o.fn for o in operands[1:])))

        def fn(env):
            left = first(env)
            result = True
            for compare, right_fn in steps:
                right = right_fn(env)
                value = compare(env, left, right)
                if _is_t(value):
                    result = value if result is True else result * value
                elif not value:
                    return False if result is True else result * 0.0
                left = right
            return result
        return _fold(fn, operands)

    def _IfExp(self, node: ast.IfExp) -> _Node:
        test, body, orelse = (self.number(n) for n in (node.test, node.body, node.orelse))
        t, b, o = test.fn, body.fn, orelse.fn

        def fn(env):
            cond = t(env)
            if not _is_t(cond):
                return b(env) if cond else o(env)
            return _where(env, cond, b(env), o(env))
        return _fold(fn, [test, body, orelse])

    def _Subscript(self, node: ast.Subscript) -> _Node:
        if not (isinstance(node.value, ast.Name) and node.value.id in PAIR_NAMES):
            raise ExpressionError("indexing ([...]) is only allowed on res or resolution")
        index = self.number(node.slice)
        if not index.const or type(index.value) is not int or not -2 <= index.value <= 1:
            raise ExpressionError("res can only be indexed with a constant 0 or 1")
        return _read(("width", "height")[index.value])

    # -- calls

    def _Call(self, node: ast.Call) -> _Node:
        if not isinstance(node.func, ast.Name) or node.keywords or any(
                isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError("only plain calls of named functions are allowed")
        name = node.func.id
        if name in TIME_STEP_NAMES:
            if len(node.args) != 2:
                raise ExpressionError(f"`{name}` takes 2 arguments")
            a, b = (self.number(n) for n in node.args)
            fa, fb = a.fn, b.fn
            return _Node(fn=lambda env: _time_step(env, env.vars["t"], fa(env), fb(env)))
        if name in ("min", "max") and len(node.args) == 1:
            value = self.any(node.args[0])
            if not value.pair:
                raise ExpressionError(f"`{name}` takes at least 2 arguments (or res)")
            impl = min if name == "min" else max
            return _Node(fn=lambda env: impl(env.vars["width"], env.vars["height"]))
        args = [self.number(a) for a in node.args]
        fns = tuple(a.fn for a in args)
        function = FUNCTIONS.get(name)
        if function is None:
            raise ExpressionError(f"unknown function `{name}`")
        torch_fn = tensor_version(function)
        if function.random:
            defaults, n_given = function.defaults, len(fns)

            def draw(env):
                values = [f(env) for f in fns] + list(defaults[n_given:])
                return torch_fn(env, *[env.t(v) for v in values])
            return _Node(fn=draw)
        py, raw = function.host, function.raw_args

        def call(env):
            values = [f(env) for f in fns]
            if not any(_is_t(v) for v in values):
                try:
                    return py(*values)
                except _PY_ERRORS:
                    if env is None:
                        raise
            if raw:
                return torch_fn(env, env.t(values[0]), *values[1:])
            return torch_fn(env, *[env.t(v) for v in values])
        return _fold(call, args)


_HANDLERS: dict[type, Callable[[_Compiler, Any], _Node]] = handlers(_Compiler)


@functools.lru_cache(maxsize=512)
def _compile(source: str, groups: frozenset[str]) -> Fn:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source.strip(), mode="eval")      # parsing runs nothing
    return _Compiler(source, groups).number(tree).fn


def compile_batch(expr: Expression) -> Fn:
    """The cached closure env -> value for an already validated expression."""
    return _compile(expr.source, frozenset(expr.groups))


# ---------------------------------------------------------------------------- public API

def evaluate_batch(expr: Expression, p) -> torch.Tensor:
    """`expr` for every sample of the call `p` (a StageParams): float32 [p.B] on p.device.

    Epoch values come from p.ctx.variables, `sim` from p.sim ([B], detached; 0.0
    when None), random draws from p.ctx.generator, one per sample. No host sync.
    """
    device = torch.device(p.device)
    dtype = working_dtype(device)
    sim = p.sim
    sim = 0.0 if sim is None else sim.detach().to(device=device, dtype=dtype)
    env = _Env(p.ctx.variables, sim, p.B, device, dtype, p.ctx.generator)
    value = compile_batch(expr)(env)
    if _is_t(value):
        return value.to(torch.float32).expand(p.B).contiguous()
    return torch.full((p.B,), _to_float(value), dtype=torch.float32, device=device)
