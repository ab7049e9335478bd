"""The expression language of param values, such as ``1 - .95*t5``.

One language, one table (table.py), three evaluators of the same parsed tree:

- host.py: Python closures over Python numbers (per-epoch values, validation);
- tensor.py: torch closures for a whole batch on the device (per-sample random
  draws and similarities); it imports torch, so it is imported on demand;
- ranges.py: interval arithmetic, the range of values over a whole run, so that
  what validates also runs.

syntax.py holds the parser and the whitelist of tree nodes, groups.py the
variable groups a param may accept. This package imports without torch.

Safety: CLIPig compiled every expression string as the body of a ``lambda``
and ran it with ``eval``. Here no text from a file ever reaches ``eval``,
``exec`` or ``compile()``: it is only parsed (``ast.parse`` runs nothing) and
walked over a whitelist; the only callables reachable are those of the table.
"""

from .groups import (GROUP_LETTERS, GROUPS, LEARNRATE, RESOLUTION, TARGET_CONSTRAINT,
                     TARGET_FEATURE, TIME, variable_names)
from .host import Expression, compile_expression
from .syntax import MAX_INT_BITS, ExpressionError, is_expression_text

__all__ = [
    "TIME", "RESOLUTION", "LEARNRATE", "TARGET_FEATURE", "TARGET_CONSTRAINT",
    "GROUPS", "GROUP_LETTERS", "ExpressionError", "Expression", "compile_expression",
    "variable_names", "is_expression_text", "MAX_INT_BITS",
]
