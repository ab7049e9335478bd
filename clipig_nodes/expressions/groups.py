"""Expression groups: which variables a param's expression may read.

A param declares the groups it accepts (registry.Param.groups); each group
makes a set of variable names available. The names are spelled here once: the
registry, the catalog, the compilers and the docs read them from this module.
"""

from __future__ import annotations

import functools
from typing import Iterable

TIME, RESOLUTION, LEARNRATE, TARGET_FEATURE, TARGET_CONSTRAINT = (
    "time", "resolution", "learnrate", "target_feature", "target_constraint")

#: group -> one letter, for the catalog's compact listing
GROUP_LETTERS = {TIME: "T", RESOLUTION: "R", LEARNRATE: "L",
                 TARGET_FEATURE: "F", TARGET_CONSTRAINT: "C"}

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

#: how the groups read in messages (each group's names, aliases in short forms)
GROUP_SUMMARY = {
    TIME: "time (t, t2..t5, ti, ti2..ti5, epoch, ts(a, b), and their long names)",
    RESOLUTION: "resolution (res, width, height)",
    LEARNRATE: "learnrate (lr, lrs)",
    TARGET_FEATURE: "similarity (sim)",
    TARGET_CONSTRAINT: "similarity (sim)",
}

#: one line for the catalog: every group letter with its short names
GROUPS_LEGEND = ("expr groups: T time (t, t2..t5, ti, ti2..ti5, epoch, ts), R resolution "
                 "(res, width, height), L learnrate (lr, lrs), F/C similarity (sim)")

ALL_VARIABLES = frozenset(name for names in GROUPS.values() for name in names)


def check_groups(groups: Iterable[str] | str | None) -> frozenset[str]:
    """The groups as a frozenset; ValueError for an unknown name (a programming error)."""
    groups = frozenset((groups,) if isinstance(groups, str) else groups or ())
    unknown = sorted(groups - GROUPS.keys())
    if unknown:
        raise ValueError(f"unknown expression group(s): {', '.join(unknown)}; "
                         f"known: {', '.join(GROUPS)}")
    return groups


def variable_names(groups: Iterable[str]) -> list[str]:
    """Sorted variable names (aliases included) available with these groups."""
    return sorted({name for g in check_groups(groups) for name in GROUPS[g]})


@functools.lru_cache(maxsize=64)
def available(groups: frozenset[str]) -> frozenset[str]:
    return frozenset(variable_names(groups))


def allowed_summary(groups: frozenset[str]) -> str:
    """The groups in short form for a message (similarity named once)."""
    return "; ".join(GROUP_SUMMARY[g] for g in GROUPS if g in groups
                     and not (g == TARGET_CONSTRAINT and TARGET_FEATURE in groups))
