"""Printing problems for the terminal: errors and warnings, one line each."""

from __future__ import annotations

import sys

from ..problems import Problem


def print_problems(problems: list[Problem], label: str | None = None, stream=None) -> None:
    stream = stream or sys.stderr
    for problem in problems:
        text = str(problem)
        if label and not problem.source:
            text = f"{label}: {text}"
        print(text, file=stream)


def count_line(problems: list[Problem]) -> str:
    n_err = sum(p.is_error for p in problems)
    n_warn = len(problems) - n_err
    parts = [f"{n_err} error{'s' * (n_err != 1)}"] if n_err else []
    if n_warn:
        parts.append(f"{n_warn} warning{'s' * (n_warn != 1)}")
    return ", ".join(parts)
