"""Time compiling and evaluating typical CLIPig expressions.

Run: ``python -m clipig_nodes.benchmarks.expressions``. Standard library only
(no torch), so it runs anywhere. Times are the best of several repeats.
"""

from __future__ import annotations

import platform
import random
import sys
import timeit

from clipig_nodes.expressions import (
    LEARNRATE, RESOLUTION, TARGET_FEATURE, TIME, compile_expression,
)

GROUPS = (TIME, RESOLUTION, LEARNRATE, TARGET_FEATURE)
CONTEXT = {"epoch": 150, "t": 0.5, "width": 640, "height": 480,
           "lr": 0.01, "lrs": 1.0, "sim": 27.5}

EXPRESSIONS = [
    "1 - .95*t5",
    "0.05*ti",
    "2*pi*t",
    "0.5 + 0.5 * ts(0.5, 0.6)",
    "224 if t < 0.5 else 448",
    "1.5 - sim / 100",
    "1 if sim < 30 else 0.5",
    "res[0] / 2",
    "uniform(-1, 1) + 0*t",
    "max(0, sin(t * 10)) * lr",
    "1/32",
]


def best_of(stmt, number: int, repeat: int = 7, **globals_) -> float:
    """Seconds per call, best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(stmt, number=number, repeat=repeat, globals=globals_)) / number


def main() -> None:
    rng = random.Random(0)
    rows = []
    for source in EXPRESSIONS:
        compile_s = best_of("compile_expression(source, groups)", number=300,
                            compile_expression=compile_expression,
                            source=source, groups=GROUPS)
        # a statement string, not a lambda: timeit then adds no extra call per evaluation
        expr = compile_expression(source, GROUPS)
        eval_s = best_of("expr(ctx, rng)", number=200_000, expr=expr, ctx=CONTEXT, rng=rng)
        rows.append((source, compile_s * 1e6, eval_s * 1e6))

    print(f"CPython {platform.python_version()} on {platform.machine()} "
          f"({platform.system()}), {sys.implementation.name}")
    width = max(len(r[0]) for r in rows)
    print(f"{'expression':<{width}}  {'compile µs':>10}  {'eval µs/call':>12}")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 12}")
    for source, compile_us, eval_us in rows:
        print(f"{source:<{width}}  {compile_us:>10.1f}  {eval_us:>12.3f}")


if __name__ == "__main__":
    main()
