"""The expression syntax: parsing with limits, the whitelist of tree nodes, error messages.

No text from a file ever reaches ``eval``, ``exec`` or ``compile()``: it is only
*parsed* (``ast.parse(..., mode="eval")`` builds a tree and runs nothing), with
its length limited before parsing and its size and depth while walking. The
compilers (host.py, tensor.py) and the range analysis (ranges.py) accept
exactly the node types in :data:`ALLOWED_NODES`.
"""

from __future__ import annotations

import ast
import operator
import re
import warnings
from typing import Any, Callable

MAX_SOURCE_LENGTH = 1000
MAX_NODES = 500
MAX_DEPTH = 64
#: integer results larger than this are refused; exact int powers stay below it
MAX_INT_BITS = 4096


class ExpressionError(ValueError):
    """A refused or failing expression; ``str(e)`` is one user-facing line."""


# The whitelist: the only node types that compile. Everything else is refused
# (with the message from REFUSED where there is one).
ALLOWED_NODES = (ast.Expression, ast.Constant, ast.Name, ast.UnaryOp, ast.BinOp, ast.BoolOp,
                 ast.Compare, ast.IfExp, ast.Subscript, ast.Call)


def handlers(walker_class) -> dict[type, Callable]:
    """node type -> the walker's `_<NodeType>` method, for exactly ALLOWED_NODES (the host
    compiler, the torch compiler and the range analysis share the whitelist)."""
    return {node: getattr(walker_class, "_" + node.__name__) for node in ALLOWED_NODES}


# Node types refused with a specific message; any other type outside the
# whitelist gets a generic one.
REFUSED: dict[type, str] = {
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

BIT_OPERATORS = {
    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<",
    ast.RShift: ">>", ast.MatMult: "@", ast.Invert: "~",
}

COMPARE_OPERATORS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
REFUSED_COMPARISONS = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}

# Exceptions that mean "this expression cannot be computed" rather than a bug
EVALUATION_ERRORS = (ArithmeticError, ValueError, TypeError, KeyError,
                     RecursionError, MemoryError)


# ------------------------------------------------------------------- parsing

def parse(source: str) -> ast.Expression:
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


_NUMBER_LITERAL = re.compile(
    r"\s*[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?\s*")


def is_expression_text(value: Any) -> bool:
    """True for a string that is not a plain (decimal) number literal.

    ``"1-t"`` -> True, ``"0.5"``, ``" 3 "``, ``"-2"``, ``"1e3"`` -> False.
    Names such as ``"inf"`` count as expressions. Non-strings -> False.
    """
    return isinstance(value, str) and _NUMBER_LITERAL.fullmatch(value) is None


# ------------------------------------------------------------------ error helpers

def show(source: str, limit: int = 80) -> str:
    """The source for a one-line message: whitespace runs collapsed, shortened."""
    text = " ".join(source.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def evaluation_error(exc: BaseException, source: str) -> ExpressionError:
    """Turn an exception raised while computing into a one-line ExpressionError."""
    return ExpressionError(f"{describe_error(exc)} in `{show(source)}`")


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, (OverflowError, MemoryError)):
        return "result too large"
    if isinstance(exc, KeyError):
        return f"variable `{exc.args[0] if exc.args else '?'}` has no value"
    if isinstance(exc, RecursionError):
        return "expression too deeply nested"
    return " ".join(str(exc).split()) or type(exc).__name__
