"""Safe evaluator for CLIPig parameter expressions such as ``1 - .95*t5``.

Safety model
------------
CLIPig compiled every expression string from a config file as the body of a
Python ``lambda`` and ran it with ``eval``. Configs travel between users, so
that was arbitrary code execution. Here no text from a user ever reaches
``eval``, ``exec`` or ``compile()``:

1. The text is only *parsed* (``ast.parse(..., mode="eval")``), which builds a
   syntax tree and runs nothing. The length is limited before parsing, node
   count and nesting depth while walking, so both stay cheap.
2. The tree is walked with a whitelist: numbers, arithmetic, comparisons,
   ``and``/``or``/``not``, ``a if c else b``, calls of a fixed table of
   math/random functions, the variables of the allowed groups and ``res[0]``/
   ``res[1]``. Every other node type (attribute access, other subscripts,
   lambda, comprehensions, strings, ...) is refused with a message naming it.
3. Each accepted node becomes a small Python closure ``f(ctx, rng)``. The only
   callables in those closures come from our own tables, never from a name
   looked up at run time, so there is no path to builtins, modules or objects.
4. Resource exhaustion is handled explicitly: ``**`` and ``*`` on integers
   are bounded (:data:`MAX_INT_BITS`), ``round`` clamps its digits, random
   functions reject the non-finite arguments that make some of them loop
   forever, and every arithmetic error becomes an :class:`ExpressionError`.

Sub-expressions that read no variable and draw no random number are folded to
constants at compile time, so ``2*pi*t`` costs one multiplication per call.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import functools
import math
import operator
import random as _random
import re
import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

__all__ = [
    "TIME", "RESOLUTION", "LEARNRATE", "TARGET_FEATURE", "TARGET_CONSTRAINT",
    "GROUPS", "ExpressionError", "Expression", "compile_expression",
    "variable_names", "is_expression_text",
]

# --------------------------------------------------------------------------- groups

TIME, RESOLUTION, LEARNRATE, TARGET_FEATURE, TARGET_CONSTRAINT = (
    "time", "resolution", "learnrate", "target_feature", "target_constraint")

_TIME_NAMES = (
    "epoch", "time", "t",
    *(f"time{n}" for n in range(2, 6)), *(f"t{n}" for n in range(2, 6)),
    "time_inverse", "ti",
    *(f"time_inverse{n}" for n in range(2, 6)), *(f"ti{n}" for n in range(2, 6)),
    "time_step", "ts",
)

#: group -> every variable name (aliases included) that the group makes available
GROUPS: dict[str, tuple[str, ...]] = {
    TIME: _TIME_NAMES,
    RESOLUTION: ("resolution", "res", "width", "height"),
    LEARNRATE: ("learnrate", "lr", "learnrate_scale", "lrs"),
    TARGET_FEATURE: ("similarity", "sim"),
    TARGET_CONSTRAINT: ("similarity", "sim"),
}

# How the groups read in messages (each group's names, aliases in short forms).
_GROUP_SUMMARY = {
    TIME: "time (t, t2..t5, ti, ti2..ti5, epoch, ts(a, b), and their long names)",
    RESOLUTION: "resolution (res, width, height)",
    LEARNRATE: "learnrate (lr, lrs)",
    TARGET_FEATURE: "similarity (sim)",
    TARGET_CONSTRAINT: "similarity (sim)",
}

# The canonical context keys. The caller fills only these; derived names
# (t3, ti2, res, ts, ...) are computed from them inside the closures.
_INT_KEYS = frozenset({"epoch", "width", "height"})

# ------------------------------------------------------------------------ limits

MAX_SOURCE_LENGTH = 1000
MAX_NODES = 500
MAX_DEPTH = 64
#: integer results larger than this are refused; exact int powers stay below it
MAX_INT_BITS = 4096
# random functions get float arguments within this range; beyond it some of
# them (gammavariate, betavariate, vonmisesvariate) loop forever
_MAX_RANDOM_ARG = 1e300
# ``round(x, n)`` clamps n: floats need at most ~330 digits, and ints stay below
# MAX_INT_BITS (~1233 decimal digits), so the result is the same but
# ``round(5, -10**9)`` cannot compute 10**(10**9)
_MAX_ROUND_DIGITS = 1300


class ExpressionError(ValueError):
    """A refused or failing expression; ``str(e)`` is one user-facing line."""


# The default rng for random functions when the caller passes none. It is our
# own instance so that expressions never touch the global ``random`` state.
_DEFAULT_RNG = _random.Random()
_NO_CONTEXT: Mapping[str, Any] = MappingProxyType({})


# ----------------------------------------------------------------- compiled nodes

Fn = Callable[[Mapping[str, Any], "_random.Random | None"], Any]


@dataclass(frozen=True, slots=True)
class _Node:
    """One compiled sub-expression.

    ``fn(ctx, rng)`` computes it. ``const`` nodes also carry their ``value`` and
    ``key`` is set when the node is a plain ``ctx[key]`` read, so parents can
    inline both instead of calling ``fn`` (one Python call less per node).
    """
    fn: Fn
    reads: frozenset = frozenset()
    random: bool = False
    may_int: bool = True        # could be int (or bool): then * and ** check sizes
    const: bool = False
    value: Any = None
    key: str | None = None
    pair: bool = False          # ``res``: valid only inside res[i], min(res), max(res)


def _const(value: Any) -> _Node:
    return _Node(fn=lambda c, r: value, may_int=isinstance(value, int),
                 const=True, value=value)


def _read(key: str) -> _Node:
    return _Node(fn=lambda c, r: c[key], reads=frozenset({key}),
                 may_int=key in _INT_KEYS, key=key)


def _derived(fn: Fn, keys: Iterable[str], may_int: bool = False) -> _Node:
    return _Node(fn=fn, reads=frozenset(keys), may_int=may_int)


def _combine(fn: Fn, children: Iterable[_Node], may_int: bool,
             reads: Iterable[str] = (), random: bool = False) -> _Node:
    """A node computed by ``fn`` from ``children`` (plus its own reads/draws)."""
    children = list(children)
    return _Node(
        fn=fn,
        reads=frozenset(reads).union(*(ch.reads for ch in children)),
        random=random or any(ch.random for ch in children),
        may_int=may_int,
    )


# ------------------------------------------------------------- guarded arithmetic
# Only integers can grow without bound (floats overflow to inf or raise), and
# only ``*`` and ``**`` make them grow fast. These two are used whenever both
# operands may be ints; OverflowError surfaces as "result too large".

def _too_large() -> OverflowError:
    return OverflowError("result too large")


def _checked_mul(a, b):
    result = a * b
    if result.__class__ is int and result.bit_length() > MAX_INT_BITS:
        raise _too_large()
    return result


def _safe_pow(a, b):
    """``a ** b`` that never hangs, never eats memory and never returns complex."""
    if isinstance(a, int) and isinstance(b, int):
        if 0 <= b <= MAX_INT_BITS and a.bit_length() * b <= MAX_INT_BITS:
            return a ** b
    # math.pow: always float, raises instead of returning complex for (-8)**(1/3)
    return math.pow(a, b)


def _float_power(f: Fn, n: int) -> Fn:
    """``f(...) ** n`` for a base that should be a float: the plain operator
    (float ** int never builds a big int or a complex), with _safe_pow as the
    fallback so that a wrong type guess can never make it unbounded."""
    def power(c, r):
        x = f(c, r)
        if x.__class__ is float:
            return x ** n
        return _safe_pow(x, n)
    return power


def _safe_round(x, ndigits=None):
    if ndigits is None:
        return round(x)
    ndigits = operator.index(ndigits)     # round(1.5, 2.0) is a TypeError in Python too
    return round(x, max(-_MAX_ROUND_DIGITS, min(ndigits, _MAX_ROUND_DIGITS)))


def _time_step(t, a, b):
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


# ---------------------------------------------------------------- function table

@dataclass(frozen=True)
class _Function:
    impl: Callable
    min_args: int
    max_args: int | None            # None: any number
    random: bool = False            # impl takes the rng as first argument
    returns_int: bool = False       # may return an int (size checks downstream)


class _RandomCall:
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
            return tuple(self._whole(x) for x in args)
        for x in args:
            # exact for ints of any size too; NaN fails every comparison
            if not -_MAX_RANDOM_ARG <= x <= _MAX_RANDOM_ARG:
                raise ValueError(f"`{self.name}` needs finite arguments, got {x!r}")
        return args

    def _whole(self, x):
        if isinstance(x, int):
            return x
        if isinstance(x, float) and x.is_integer():
            return int(x)
        raise ValueError(f"`{self.name}` needs whole numbers, got {x!r}")

    def __call__(self, rng: _random.Random, *args):
        return self.method(rng, *self.prepare(args))


def _math(fn: Callable, n_min: int = 1, n_max: int | None = None, returns_int: bool = False):
    return _Function(fn, n_min, n_min if n_max is None else n_max, returns_int=returns_int)


_FUNCTIONS: dict[str, _Function] = {
    # builtins
    "abs": _Function(abs, 1, 1, returns_int=True),
    "min": _Function(min, 2, None, returns_int=True),
    "max": _Function(max, 2, None, returns_int=True),
    "round": _Function(_safe_round, 1, 2, returns_int=True),
    "int": _Function(int, 1, 1, returns_int=True),
    "float": _Function(float, 1, 1),
    "bool": _Function(bool, 1, 1, returns_int=True),
    # math (``pow`` is math.pow, as in CLIPig's ``from math import *``)
    "pow": _math(math.pow, 2),
    "sqrt": _math(math.sqrt), "exp": _math(math.exp), "log": _math(math.log, 1, 2),
    "log2": _math(math.log2), "log10": _math(math.log10),
    "sin": _math(math.sin), "cos": _math(math.cos), "tan": _math(math.tan),
    "asin": _math(math.asin), "acos": _math(math.acos), "atan": _math(math.atan),
    "atan2": _math(math.atan2, 2),
    "sinh": _math(math.sinh), "cosh": _math(math.cosh), "tanh": _math(math.tanh),
    "asinh": _math(math.asinh), "acosh": _math(math.acosh), "atanh": _math(math.atanh),
    "floor": _math(math.floor, returns_int=True), "ceil": _math(math.ceil, returns_int=True),
    "trunc": _math(math.trunc, returns_int=True),
    "fmod": _math(math.fmod, 2), "hypot": _Function(math.hypot, 2, None),
    "degrees": _math(math.degrees), "radians": _math(math.radians),
    "copysign": _math(math.copysign, 2), "fabs": _math(math.fabs),
    # random: drawn from the rng passed to Expression.__call__
    "random": _Function(_RandomCall("random"), 0, 0, random=True),
    "uniform": _Function(_RandomCall("uniform"), 2, 2, random=True),
    "randint": _Function(_RandomCall("randint", whole=True), 2, 2, random=True, returns_int=True),
    "randrange": _Function(_RandomCall("randrange", whole=True), 1, 3, random=True, returns_int=True),
    "gauss": _Function(_RandomCall("gauss", 0.0, 1.0), 0, 2, random=True),
    "normalvariate": _Function(_RandomCall("normalvariate", 0.0, 1.0), 0, 2, random=True),
    "lognormvariate": _Function(_RandomCall("lognormvariate"), 2, 2, random=True),
    "triangular": _Function(_RandomCall("triangular", 0.0, 1.0), 0, 3, random=True),
    "expovariate": _Function(_RandomCall("expovariate", 1.0), 0, 1, random=True),
    "betavariate": _Function(_RandomCall("betavariate"), 2, 2, random=True),
    "gammavariate": _Function(_RandomCall("gammavariate"), 2, 2, random=True),
    "vonmisesvariate": _Function(_RandomCall("vonmisesvariate"), 2, 2, random=True),
    "paretovariate": _Function(_RandomCall("paretovariate"), 1, 1, random=True),
    "weibullvariate": _Function(_RandomCall("weibullvariate"), 2, 2, random=True),
}

_CONSTANTS: dict[str, float] = {
    "pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf, "nan": math.nan,
}

# --------------------------------------------------------------------- variables
# name -> node factory. Each node reads only canonical keys from ctx.

def _t_power(n: int) -> Callable[[], _Node]:
    return lambda: _derived(lambda c, r: c["t"] ** n, {"t"})


def _ti_power(n: int) -> Callable[[], _Node]:
    if n == 1:
        return lambda: _derived(lambda c, r: 1.0 - c["t"], {"t"})
    return lambda: _derived(lambda c, r: (1.0 - c["t"]) ** n, {"t"})


def _pair() -> _Node:
    return _Node(fn=lambda c, r: (c["width"], c["height"]),
                 reads=frozenset({"width", "height"}), pair=True)


_VARIABLES: dict[str, Callable[[], _Node]] = {
    "epoch": lambda: _read("epoch"),
    "time": lambda: _read("t"), "t": lambda: _read("t"),
    **{f"{prefix}{n}": _t_power(n) for n in range(2, 6) for prefix in ("time", "t")},
    "time_inverse": _ti_power(1), "ti": _ti_power(1),
    **{f"{prefix}{n}": _ti_power(n) for n in range(2, 6) for prefix in ("time_inverse", "ti")},
    "resolution": _pair, "res": _pair,
    "width": lambda: _read("width"), "height": lambda: _read("height"),
    "learnrate": lambda: _read("lr"), "lr": lambda: _read("lr"),
    "learnrate_scale": lambda: _read("lrs"), "lrs": lambda: _read("lrs"),
    "similarity": lambda: _read("sim"), "sim": lambda: _read("sim"),
    # time_step / ts is a function: see _Compiler._time_step_call
}
_TIME_STEP_NAMES = ("time_step", "ts")
_PAIR_NAMES = ("resolution", "res")
_ALL_VARIABLES = frozenset(name for names in GROUPS.values() for name in names)


def variable_names(groups: Iterable[str]) -> list[str]:
    """Sorted variable names (aliases included) available with these groups."""
    return sorted({name for g in _check_groups(groups) for name in GROUPS[g]})


@functools.lru_cache(maxsize=64)
def _available(groups: frozenset[str]) -> frozenset[str]:
    return frozenset(variable_names(groups))


def _check_groups(groups: Iterable[str]) -> frozenset[str]:
    groups = frozenset((groups,) if isinstance(groups, str) else groups or ())
    unknown = sorted(groups - GROUPS.keys())
    if unknown:
        raise ValueError(f"unknown expression group(s): {', '.join(unknown)}; "
                         f"known: {', '.join(GROUPS)}")
    return groups


_NUMBER_LITERAL = re.compile(
    r"\s*[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?\s*")


def is_expression_text(value: Any) -> bool:
    """True for a string that is not a plain (decimal) number literal.

    ``"1-t"`` -> True, ``"0.5"``, ``" 3 "``, ``"-2"``, ``"1e3"`` -> False.
    Names such as ``"inf"`` count as expressions. Non-strings -> False.
    """
    return isinstance(value, str) and _NUMBER_LITERAL.fullmatch(value) is None


# ------------------------------------------------------------------ error helpers

def _show(source: str, limit: int = 80) -> str:
    """The source for a one-line message: whitespace runs collapsed, shortened."""
    text = " ".join(source.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _evaluation_error(exc: BaseException, source: str) -> ExpressionError:
    """Turn an exception raised while computing into a one-line ExpressionError."""
    if isinstance(exc, ZeroDivisionError):
        what = "division by zero"
    elif isinstance(exc, (OverflowError, MemoryError)):
        what = "result too large"
    elif isinstance(exc, KeyError):
        what = f"variable `{exc.args[0] if exc.args else '?'}` has no value"
    elif isinstance(exc, RecursionError):
        what = "expression too deeply nested"
    else:
        what = " ".join(str(exc).split()) or type(exc).__name__
    return ExpressionError(f"{what} in `{_show(source)}`")


# Exceptions that mean "this expression cannot be computed" rather than a bug
_EVALUATION_ERRORS = (ArithmeticError, ValueError, TypeError, KeyError,
                      RecursionError, MemoryError)


# ------------------------------------------------------------------- the compiler

# Node types refused with a specific message. Anything not in _HANDLERS (the
# whitelist, below the compiler) and not listed here gets a generic message.
_REFUSED: dict[type, str] = {
    ast.Attribute: "attribute access (.) is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.Starred: "starred arguments (*) are not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Await: "await is not allowed",
    ast.Slice: "slices are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
}

_BIT_OPERATORS = {
    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
    ast.RShift: ">>", ast.MatMult: "@", ast.Invert: "~",
}

_COMPARE_OPERATORS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_REFUSED_COMPARISONS = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


def _shapes(cf, fc, ff, kc, ck) -> dict[str, Callable]:
    """Closure factories by operand shape: c = constant, f = sub-closure,
    k = plain ``ctx[key]`` read (left letter = left operand)."""
    return {"cf": cf, "fc": fc, "ff": ff, "kc": kc, "ck": ck}


# The four arithmetic operators get hand-written closures for each operand
# shape. Calling the ``operator`` function instead costs ~20-30 ns more per
# node, and a call through a sub-closure ~50 ns more than reading ctx[key].
_INLINE_OPS: dict[type, dict[str, Callable]] = {
    ast.Add: _shapes(
        cf=lambda a, g: lambda c, r: a + g(c, r), fc=lambda f, b: lambda c, r: f(c, r) + b,
        ff=lambda f, g: lambda c, r: f(c, r) + g(c, r),
        kc=lambda k, b: lambda c, r: c[k] + b, ck=lambda a, k: lambda c, r: a + c[k]),
    ast.Sub: _shapes(
        cf=lambda a, g: lambda c, r: a - g(c, r), fc=lambda f, b: lambda c, r: f(c, r) - b,
        ff=lambda f, g: lambda c, r: f(c, r) - g(c, r),
        kc=lambda k, b: lambda c, r: c[k] - b, ck=lambda a, k: lambda c, r: a - c[k]),
    ast.Mult: _shapes(
        cf=lambda a, g: lambda c, r: a * g(c, r), fc=lambda f, b: lambda c, r: f(c, r) * b,
        ff=lambda f, g: lambda c, r: f(c, r) * g(c, r),
        kc=lambda k, b: lambda c, r: c[k] * b, ck=lambda a, k: lambda c, r: a * c[k]),
    ast.Div: _shapes(
        cf=lambda a, g: lambda c, r: a / g(c, r), fc=lambda f, b: lambda c, r: f(c, r) / b,
        ff=lambda f, g: lambda c, r: f(c, r) / g(c, r),
        kc=lambda k, b: lambda c, r: c[k] / b, ck=lambda a, k: lambda c, r: a / c[k]),
}

_GENERIC_OPS: dict[type, Callable] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: _safe_pow, **_COMPARE_OPERATORS,
}


def _binary_closure(op_type: type, op: Callable, left: _Node, right: _Node) -> Fn:
    """A closure computing ``op(left, right)``, specialised on the operand shapes."""
    table = _INLINE_OPS.get(op_type) if op is _GENERIC_OPS.get(op_type) else None
    f, g = left.fn, right.fn
    if table is not None:
        if left.const:
            return table["ck"](left.value, right.key) if right.key else table["cf"](left.value, g)
        if right.const:
            return table["kc"](left.key, right.value) if left.key else table["fc"](f, right.value)
        return table["ff"](f, g)
    if left.const:
        a = left.value
        return lambda c, r: op(a, g(c, r))
    if right.const:
        b = right.value
        return lambda c, r: op(f(c, r), b)
    return lambda c, r: op(f(c, r), g(c, r))


class _Compiler:
    """Turns a parsed tree into a :class:`_Node`, checking size and whitelist."""

    def __init__(self, source: str, groups: frozenset[str]):
        self.source = source
        self.groups = groups
        self.available = _available(groups)
        self.nodes = 0
        self.depth = 0

    # -- dispatch ---------------------------------------------------------

    def number(self, node: ast.AST) -> _Node:
        """Compile a node that must produce a number."""
        result = self.any(node)
        if result.pair:
            raise ExpressionError(
                f"`{node.id}` is a (width, height) pair; use {node.id}[0], {node.id}[1], "
                f"width or height")
        return result

    def any(self, node: ast.AST) -> _Node:
        """Compile any node (``res`` included); all recursion passes through here."""
        # Size limits are checked on the way down, so the recursion never gets
        # deeper than MAX_DEPTH whatever the parser produced.
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"expression is too large (more than {MAX_NODES} parts)")
        if self.depth >= MAX_DEPTH:
            raise ExpressionError(
                f"expression is too deeply nested (more than {MAX_DEPTH} levels)")
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise ExpressionError(_REFUSED.get(
                type(node), f"{type(node).__name__} is not allowed in expressions"))
        self.depth += 1
        result = handler(self, node)
        self.depth -= 1
        return self._fold(result)

    def _fold(self, node: _Node) -> _Node:
        """Replace a node that reads nothing and draws nothing by its value."""
        if node.const or node.reads or node.random:
            return node
        try:
            value = node.fn(_NO_CONTEXT, None)
        except _EVALUATION_ERRORS as exc:
            raise _evaluation_error(exc, self.source) from None
        return _const(value)

    # -- leaves -----------------------------------------------------------

    def _Expression(self, node: ast.Expression) -> _Node:
        return self.number(node.body)

    def _Constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, (bool, int, float)):
            return _const(value)
        kind = {str: "strings", bytes: "bytes", complex: "complex numbers"}.get(type(value))
        if kind:
            raise ExpressionError(f"{kind} are not allowed")
        raise ExpressionError(f"`{'...' if value is ... else value}` is not allowed")

    def _Name(self, node: ast.Name) -> _Node:
        name = node.id
        self._check_name(name)
        if name in _VARIABLES and name in self.available:
            return _VARIABLES[name]()
        if name in _CONSTANTS:
            return _const(_CONSTANTS[name])
        if name in _FUNCTIONS or (name in _TIME_STEP_NAMES and name in self.available):
            raise ExpressionError(f"`{name}` is a function; call it, like {name}(...)")
        raise self._unknown_name(name)

    def _check_name(self, name: str) -> None:
        if name.startswith("_"):
            raise ExpressionError(f"names starting with _ are not allowed (`{name}`)")

    def _unknown_name(self, name: str, function: bool = False) -> ExpressionError:
        if function and name in self.available:
            return ExpressionError(f"`{name}` is a variable, not a function")
        if function and name in _CONSTANTS:
            return ExpressionError(f"`{name}` is a constant, not a function")
        if name in _ALL_VARIABLES:
            if not self.groups:
                return ExpressionError(
                    f"this value must be a constant; `{name}` is a variable")
            allowed = "; ".join(_GROUP_SUMMARY[g] for g in GROUPS if g in self.groups
                                 and not (g == TARGET_CONSTRAINT and TARGET_FEATURE in self.groups))
            return ExpressionError(f"`{name}` is not available here; allowed: {allowed}")
        known = sorted(self.available | _CONSTANTS.keys() | _FUNCTIONS.keys())
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        what = "function" if function else "name"
        if hasattr(builtins, name):     # eval, open, print, type, ...: say so plainly
            return ExpressionError(f"`{name}` is not allowed in expressions{hint}")
        return ExpressionError(f"unknown {what} `{name}`{hint}")

    # -- operators --------------------------------------------------------

    def _UnaryOp(self, node: ast.UnaryOp) -> _Node:
        op = type(node.op)
        if op in _BIT_OPERATORS:
            raise ExpressionError(f"bitwise operator `{_BIT_OPERATORS[op]}` is not allowed")
        operand = self.number(node.operand)
        f = operand.fn
        if op is ast.USub:
            return _combine(lambda c, r: -f(c, r), [operand], operand.may_int)
        if op is ast.UAdd:
            return _combine(lambda c, r: +f(c, r), [operand], operand.may_int)
        return _combine(lambda c, r: not f(c, r), [operand], True)   # ast.Not

    def _BinOp(self, node: ast.BinOp) -> _Node:
        op_type = type(node.op)
        if op_type in _BIT_OPERATORS:
            kind = "shift" if op_type in (ast.LShift, ast.RShift) else "bitwise"
            if op_type is ast.MatMult:
                kind = "matrix"
            raise ExpressionError(
                f"{kind} operator `{_BIT_OPERATORS[op_type]}` is not allowed")
        left, right = self.number(node.left), self.number(node.right)
        both_int = left.may_int and right.may_int
        op = _GENERIC_OPS[op_type]
        if op_type is ast.Mult and both_int:
            op = _checked_mul          # only int * int can grow without bound
        if op_type is ast.Pow and right.const and type(right.value) is int and not left.may_int:
            fn = _float_power(left.fn, right.value)       # t ** 2 and the like
        else:
            fn = _binary_closure(op_type, op, left, right)
        return _combine(fn, [left, right], both_int and op_type is not ast.Div)

    def _BoolOp(self, node: ast.BoolOp) -> _Node:
        is_and = isinstance(node.op, ast.And)
        operands = [self.number(v) for v in node.values]
        # Constant operands at the front decide or drop out, as in Python:
        # ``0 and t`` is 0, ``1 and t`` is t.
        while len(operands) > 1 and operands[0].const:
            if bool(operands[0].value) != is_and:
                return operands[0]
            operands.pop(0)
        if len(operands) == 1:
            return operands[0]
        fns = tuple(op.fn for op in operands)
        if is_and:
            def fn(c, r):
                for f in fns:
                    value = f(c, r)
                    if not value:
                        return value
                return value
        else:
            def fn(c, r):
                for f in fns:
                    value = f(c, r)
                    if value:
                        return value
                return value
        return _combine(fn, operands, any(op.may_int for op in operands))

    def _Compare(self, node: ast.Compare) -> _Node:
        for op in node.ops:
            if type(op) in _REFUSED_COMPARISONS:
                raise ExpressionError(
                    f"`{_REFUSED_COMPARISONS[type(op)]}` comparisons are not allowed")
        operands = [self.number(v) for v in [node.left, *node.comparators]]
        ops = [type(op) for op in node.ops]
        if len(ops) == 1:
            fn = _binary_closure(ops[0], _COMPARE_OPERATORS[ops[0]], operands[0], operands[1])
            return _combine(fn, operands, True)
        # chained: a < b < c means a < b and b < c, each operand computed once
        steps = tuple((_COMPARE_OPERATORS[op], rhs.fn) for op, rhs in zip(ops, operands[1:]))
        first = operands[0].fn

        def fn(c, r):
            left = first(c, r)
            for compare, right_fn in steps:
                right = right_fn(c, r)
                if not compare(left, right):
                    return False
                left = right
            return True
        return _combine(fn, operands, True)

    def _IfExp(self, node: ast.IfExp) -> _Node:
        test, body, orelse = (self.number(n) for n in (node.test, node.body, node.orelse))
        if test.const:      # both branches are still checked above
            return body if test.value else orelse
        t, b, o = test.fn, body.fn, orelse.fn
        if body.const and orelse.const:
            bv, ov = body.value, orelse.value
            fn = lambda c, r: bv if t(c, r) else ov
        else:
            fn = lambda c, r: b(c, r) if t(c, r) else o(c, r)
        return _combine(fn, [test, body, orelse], body.may_int or orelse.may_int)

    # -- res[i] -----------------------------------------------------------

    def _Subscript(self, node: ast.Subscript) -> _Node:
        target = node.value
        if not (isinstance(target, ast.Name) and target.id in _PAIR_NAMES):
            if type(target) in _REFUSED:
                raise ExpressionError(_REFUSED[type(target)])
            raise ExpressionError("indexing ([...]) is only allowed on res or resolution")
        name = target.id
        if name not in self.available:
            raise self._unknown_name(name)
        if isinstance(node.slice, ast.Slice):
            raise ExpressionError(_REFUSED[ast.Slice])
        index = self.number(node.slice)
        if not index.const:
            raise ExpressionError(f"`{name}` can only be indexed with a constant 0 or 1")
        if type(index.value) is not int or not -2 <= index.value <= 1:
            raise ExpressionError(
                f"`{name}[{index.value!r}]` is out of range; use {name}[0] (width) "
                f"or {name}[1] (height)")
        return _read(("width", "height")[index.value])

    # -- calls ------------------------------------------------------------

    def _Call(self, node: ast.Call) -> _Node:
        if not isinstance(node.func, ast.Name):
            if type(node.func) in _REFUSED:
                raise ExpressionError(_REFUSED[type(node.func)])
            raise ExpressionError("only named functions can be called, like sqrt(x)")
        name = node.func.id
        self._check_name(name)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError(_REFUSED[ast.Starred])
        if node.keywords:
            if any(kw.arg is None for kw in node.keywords):
                raise ExpressionError("`**` arguments are not allowed")
            raise ExpressionError(
                f"keyword arguments are not allowed (`{node.keywords[0].arg}=` in `{name}(...)`)")
        if name in _TIME_STEP_NAMES and name in self.available:
            return self._time_step_call(name, node.args)
        function = _FUNCTIONS.get(name)
        if function is None:
            raise self._unknown_name(name, function=True)
        if name in ("min", "max") and len(node.args) == 1:
            return self._min_max_of_pair(name, node.args[0])
        self._check_arg_count(name, function, len(node.args))
        args = [self.number(a) for a in node.args]
        return self._function_call(function, args)

    def _check_arg_count(self, name: str, function: _Function, n: int) -> None:
        lo, hi = function.min_args, function.max_args
        if lo <= n and (hi is None or n <= hi):
            return
        if hi is None:
            expected = f"at least {lo}"
        elif lo == hi:
            expected = str(lo)
        elif hi == lo + 1:
            expected = f"{lo} or {hi}"
        else:
            expected = f"{lo} to {hi}"
        noun = "argument" if expected == "1" else "arguments"
        extra = " (or res)" if name in ("min", "max") else ""
        raise ExpressionError(f"`{name}` takes {expected} {noun}{extra}, got {n}")

    def _function_call(self, function: _Function, args: list[_Node]) -> _Node:
        impl = function.impl
        fns = tuple(a.fn for a in args)
        if function.random:
            fn = self._random_closure(impl, args)
        elif len(fns) == 1:
            f0 = fns[0]
            fn = lambda c, r: impl(f0(c, r))
        elif len(fns) == 2:
            f0, f1 = fns
            fn = lambda c, r: impl(f0(c, r), f1(c, r))
        else:
            fn = lambda c, r: impl(*[f(c, r) for f in fns])
        # abs/min/max return one of their arguments; the other int functions
        # (round with one argument included) always may return an int
        may_int = function.returns_int and (
            impl not in (abs, min, max) or any(a.may_int for a in args))
        return _combine(fn, args, may_int, random=function.random)

    def _random_closure(self, call: _RandomCall, args: list[_Node]) -> Fn:
        """Draw from the caller's rng, else from our module default (per call)."""
        if not all(a.const for a in args):
            fns = tuple(a.fn for a in args)
            return lambda c, r: call(r or _DEFAULT_RNG, *[f(c, r) for f in fns])
        # constant arguments (the usual ``uniform(-1, 1)``): check them once, now,
        # with a trial draw from a throwaway rng, so that ``randint(2, 1)`` or
        # ``expovariate(0)`` fail at compile time instead of on every call
        try:
            values = call.prepare(tuple(a.value for a in args))
            call.method(_random.Random(0), *values)
        except _EVALUATION_ERRORS as exc:
            raise _evaluation_error(exc, self.source) from None
        method = call.method
        if not values:
            return lambda c, r: method(r or _DEFAULT_RNG)
        if len(values) == 1:
            v0, = values
            return lambda c, r: method(r or _DEFAULT_RNG, v0)
        if len(values) == 2:
            v0, v1 = values
            return lambda c, r: method(r or _DEFAULT_RNG, v0, v1)
        return lambda c, r: method(r or _DEFAULT_RNG, *values)

    def _min_max_of_pair(self, name: str, arg: ast.AST) -> _Node:
        value = self.any(arg)
        if not value.pair:
            raise ExpressionError(f"`{name}` takes at least 2 arguments (or res), got 1")
        impl = min if name == "min" else max
        return _derived(lambda c, r: impl(c["width"], c["height"]), value.reads, may_int=True)

    def _time_step_call(self, name: str, arg_nodes: list[ast.AST]) -> _Node:
        if len(arg_nodes) != 2:
            raise ExpressionError(f"`{name}` takes 2 arguments, got {len(arg_nodes)}")
        a, b = (self.number(n) for n in arg_nodes)
        if a.const and b.const:
            # the common case: ts(0.5, 0.6); swap and inversion decided once here
            lo, hi = sorted((a.value, b.value))
            invert = b.value < a.value

            def ramp(c, r):
                t = c["t"]
                value = 0.0 if t < lo else 1.0 if (t > hi or lo == hi) else (t - lo) / (hi - lo)
                return 1.0 - value if invert else value
            fn = ramp
        else:
            fa, fb = a.fn, b.fn
            fn = lambda c, r: _time_step(c["t"], fa(c, r), fb(c, r))
        return _combine(fn, [a, b], False, reads={"t"})


# The whitelist: the only node types that compile. Everything else is refused
# (with the message from _REFUSED where there is one).
ALLOWED_NODES = (ast.Expression, ast.Constant, ast.Name, ast.UnaryOp, ast.BinOp, ast.BoolOp,
                 ast.Compare, ast.IfExp, ast.Subscript, ast.Call)


def handlers(compiler_class) -> dict[type, Callable]:
    """node type -> the compiler's `_<NodeType>` method, for exactly ALLOWED_NODES (the host
    compiler here and the torch one in engine/tensor_expr.py share the whitelist)."""
    return {node: getattr(compiler_class, "_" + node.__name__) for node in ALLOWED_NODES}


_HANDLERS: dict[type, Callable[[_Compiler, Any], _Node]] = handlers(_Compiler)


# ------------------------------------------------------------------- parsing

def _parse(source: str) -> ast.Expression:
    """Parse with limits; every failure is a one-line ExpressionError."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(source)} characters, at most {MAX_SOURCE_LENGTH})")
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    indent = len(source) - len(source.lstrip())
    try:
        # ast.parse runs nothing, but may warn (e.g. invalid escapes); a warning
        # filter set to "error" would otherwise leak a SyntaxWarning exception
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(_syntax_message(exc, indent)) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too complex to parse") from None
    except ValueError as exc:       # e.g. null bytes on some Python versions
        raise ExpressionError(f"syntax error: {exc}") from None
    return tree


def _syntax_message(exc: SyntaxError, indent: int) -> str:
    msg = " ".join(str(exc.msg).split())
    if exc.offset is None:
        return f"syntax error: {msg}"
    if exc.offset < 1:      # the parser ran out of input: ``1 +``
        return f"syntax error at the end of the expression: {msg}"
    if (exc.lineno or 1) > 1:
        return f"syntax error at line {exc.lineno} column {exc.offset}: {msg}"
    return f"syntax error at column {exc.offset + indent}: {msg}"


# -------------------------------------------------------------------- public API

class Expression:
    """A compiled expression. Call it with the context of canonical variables.

    ``ctx`` holds only the base keys: ``epoch``, ``width``, ``height`` (int) and
    ``t``, ``lr``, ``lrs``, ``sim`` (float); those in :attr:`variables` must be
    present. (Products of the float keys skip the int size check, so an int
    passed there could grow past MAX_INT_BITS, though only linearly.) Random
    functions draw from ``rng`` or, without one, from a private module-level
    ``random.Random``. Equal source and groups make equal expressions.

    Attributes: ``source``, ``groups`` (allowed groups), ``variables`` (base
    keys read), ``uses_random``, ``is_constant`` (reads no variable; it may
    still draw random numbers, freshly on each call).
    """

    __slots__ = ("source", "groups", "variables", "uses_random", "is_constant", "_fn")

    def __init__(self, source: str, groups: frozenset[str], root: _Node):
        self.source = source
        self.groups = groups
        self.variables: frozenset[str] = root.reads
        self.uses_random: bool = root.random
        self.is_constant: bool = not root.reads
        self._fn = root.fn

    def __call__(self, ctx: Mapping[str, Any] = _NO_CONTEXT,
                 rng: _random.Random | None = None) -> int | float | bool:
        try:
            return self._fn(ctx, rng)
        except _EVALUATION_ERRORS as exc:
            raise _evaluation_error(exc, self.source) from None

    def __repr__(self) -> str:
        groups = tuple(g for g in GROUPS if g in self.groups)
        return f"Expression({self.source!r}, groups={groups!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return self.source == other.source and self.groups == other.groups

    def __hash__(self) -> int:
        return hash((self.source, self.groups))

    def __reduce__(self):
        # closures do not pickle; recompiling from the source is cheap and safe
        return compile_expression, (self.source, tuple(self.groups))


def compile_expression(source: str, groups: Iterable[str] = ()) -> Expression:
    """Parse and check ``source``; variables come from ``groups`` (see GROUPS).

    Raises ExpressionError for anything outside the language, for unknown or
    unavailable names, and for constant parts that cannot be computed (1/0).
    Raises ValueError for an unknown group name (a programming error).
    """
    allowed = _check_groups(groups)
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, got {type(source).__name__}")
    tree = _parse(source)
    root = _Compiler(source, allowed).number(tree)
    return Expression(source, allowed, root)
