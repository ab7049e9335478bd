"""The host compiler: an expression into Python closures over Python numbers.

Used for per-epoch values (one value per call: shapes, learning rates) and by
validation. The text is parsed (syntax.py), walked over the whitelist and each
accepted node becomes a small closure ``f(ctx, rng)``. The only callables in
those closures come from our own tables (table.py, hostmath.py), never from a
name looked up at run time, so there is no path to builtins, modules or
objects. Sizes of ints are bounded (hostmath.py) and every arithmetic error
becomes an :class:`ExpressionError`.

Sub-expressions that read no variable and draw no random number are folded to
constants at compile time, so ``2*pi*t`` costs one multiplication per call.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import operator
import random as _random
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from .groups import ALL_VARIABLES, GROUPS, allowed_summary, available, check_groups
from .hostmath import RandomCall, checked_mul, float_power, safe_pow, time_step
from .syntax import (BIT_OPERATORS, COMPARE_OPERATORS, EVALUATION_ERRORS, MAX_DEPTH, MAX_NODES,
                     REFUSED, REFUSED_COMPARISONS, ExpressionError, evaluation_error, handlers,
                     parse)
from .table import (CONSTANTS, FUNCTIONS, INT_KEYS, PAIR_NAMES, TIME_STEP_NAMES, VARIABLES,
                    Function)

__all__ = ["Expression", "compile_expression"]

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
                 may_int=key in INT_KEYS, key=key)


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



# --------------------------------------------------------------------- variables

def _variable(name: str) -> _Node:
    """The node for a variable of the table: a plain read, a power of t or of 1 - t."""
    v = VARIABLES[name]
    key = v.key
    if not v.inverse and v.power == 1:
        return _read(key)
    return _derived(lambda c, r: v.of(c[key]), {key})


def _pair() -> _Node:
    return _Node(fn=lambda c, r: (c["width"], c["height"]),
                 reads=frozenset({"width", "height"}), pair=True)


# ------------------------------------------------------------------- the compiler

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
    ast.Pow: safe_pow, **COMPARE_OPERATORS,
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
        self.available = available(groups)
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
            raise ExpressionError(REFUSED.get(
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
        except EVALUATION_ERRORS as exc:
            raise evaluation_error(exc, self.source) from None
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
        if name in self.available:
            if name in VARIABLES:
                return _variable(name)
            if name in PAIR_NAMES:
                return _pair()
        if name in CONSTANTS:
            return _const(CONSTANTS[name])
        if name in FUNCTIONS or (name in TIME_STEP_NAMES and name in self.available):
            raise ExpressionError(f"`{name}` is a function; call it, like {name}(...)")
        raise self._unknown_name(name)

    def _check_name(self, name: str) -> None:
        if name.startswith("_"):
            raise ExpressionError(f"names starting with _ are not allowed (`{name}`)")

    def _unknown_name(self, name: str, function: bool = False) -> ExpressionError:
        if function and name in self.available:
            return ExpressionError(f"`{name}` is a variable, not a function")
        if function and name in CONSTANTS:
            return ExpressionError(f"`{name}` is a constant, not a function")
        if name in ALL_VARIABLES:
            if not self.groups:
                return ExpressionError(
                    f"this value must be a constant; `{name}` is a variable")
            allowed = allowed_summary(self.groups)
            return ExpressionError(f"`{name}` is not available here; allowed: {allowed}")
        known = sorted(self.available | CONSTANTS.keys() | FUNCTIONS.keys())
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        what = "function" if function else "name"
        if hasattr(builtins, name):     # eval, open, print, type, ...: say so plainly
            return ExpressionError(f"`{name}` is not allowed in expressions{hint}")
        return ExpressionError(f"unknown {what} `{name}`{hint}")

    # -- operators --------------------------------------------------------

    def _UnaryOp(self, node: ast.UnaryOp) -> _Node:
        op = type(node.op)
        if op in BIT_OPERATORS:
            raise ExpressionError(f"bitwise operator `{BIT_OPERATORS[op]}` is not allowed")
        operand = self.number(node.operand)
        f = operand.fn
        if op is ast.USub:
            return _combine(lambda c, r: -f(c, r), [operand], operand.may_int)
        if op is ast.UAdd:
            return _combine(lambda c, r: +f(c, r), [operand], operand.may_int)
        return _combine(lambda c, r: not f(c, r), [operand], True)   # ast.Not

    def _BinOp(self, node: ast.BinOp) -> _Node:
        op_type = type(node.op)
        if op_type in BIT_OPERATORS:
            kind = "shift" if op_type in (ast.LShift, ast.RShift) else "bitwise"
            if op_type is ast.MatMult:
                kind = "matrix"
            raise ExpressionError(
                f"{kind} operator `{BIT_OPERATORS[op_type]}` is not allowed")
        left, right = self.number(node.left), self.number(node.right)
        both_int = left.may_int and right.may_int
        op = _GENERIC_OPS[op_type]
        if op_type is ast.Mult and both_int:
            op = checked_mul          # only int * int can grow without bound
        if op_type is ast.Pow and right.const and type(right.value) is int and not left.may_int:
            fn = float_power(left.fn, right.value)       # t ** 2 and the like
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
            if type(op) in REFUSED_COMPARISONS:
                raise ExpressionError(
                    f"`{REFUSED_COMPARISONS[type(op)]}` comparisons are not allowed")
        operands = [self.number(v) for v in [node.left, *node.comparators]]
        ops = [type(op) for op in node.ops]
        if len(ops) == 1:
            fn = _binary_closure(ops[0], COMPARE_OPERATORS[ops[0]], operands[0], operands[1])
            return _combine(fn, operands, True)
        # chained: a < b < c means a < b and b < c, each operand computed once
        steps = tuple((COMPARE_OPERATORS[op], rhs.fn) for op, rhs in zip(ops, operands[1:]))
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
        if not (isinstance(target, ast.Name) and target.id in PAIR_NAMES):
            if type(target) in REFUSED:
                raise ExpressionError(REFUSED[type(target)])
            raise ExpressionError("indexing ([...]) is only allowed on res or resolution")
        name = target.id
        if name not in self.available:
            raise self._unknown_name(name)
        if isinstance(node.slice, ast.Slice):
            raise ExpressionError(REFUSED[ast.Slice])
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
            if type(node.func) in REFUSED:
                raise ExpressionError(REFUSED[type(node.func)])
            raise ExpressionError("only named functions can be called, like sqrt(x)")
        name = node.func.id
        self._check_name(name)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExpressionError(REFUSED[ast.Starred])
        if node.keywords:
            if any(kw.arg is None for kw in node.keywords):
                raise ExpressionError("`**` arguments are not allowed")
            raise ExpressionError(
                f"keyword arguments are not allowed (`{node.keywords[0].arg}=` in `{name}(...)`)")
        if name in TIME_STEP_NAMES and name in self.available:
            return self._time_step_call(name, node.args)
        function = FUNCTIONS.get(name)
        if function is None:
            raise self._unknown_name(name, function=True)
        if name in ("min", "max") and len(node.args) == 1:
            return self._min_max_of_pair(name, node.args[0])
        self._check_arg_count(name, function, len(node.args))
        args = [self.number(a) for a in node.args]
        return self._function_call(function, args)

    def _check_arg_count(self, name: str, function: Function, n: int) -> None:
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

    def _function_call(self, function: Function, args: list[_Node]) -> _Node:
        impl = function.host
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

    def _random_closure(self, call: RandomCall, args: list[_Node]) -> Fn:
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
        except EVALUATION_ERRORS as exc:
            raise evaluation_error(exc, self.source) from None
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
            fn = lambda c, r: time_step(c["t"], fa(c, r), fb(c, r))
        return _combine(fn, [a, b], False, reads={"t"})



_HANDLERS: dict[type, Callable[[_Compiler, Any], _Node]] = handlers(_Compiler)


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
        except EVALUATION_ERRORS as exc:
            raise evaluation_error(exc, self.source) from None

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
    allowed = check_groups(groups)
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, got {type(source).__name__}")
    tree = parse(source)
    root = _Compiler(source, allowed).number(tree)
    return Expression(source, allowed, root)
