"""The range of every expression variable over a graph's run, for the range analysis.

t in [0, 1]; epoch in [0, epochs - 1] (the train node's, or `run --epochs`); width and
height within the pixel source's resolution (a constant, or its expression's range); lrs
within the train node's learnrate_scale, lr within base rate x lrs x learnrate; sim within
+-100 (a feature's own) or +-100 x the largest feature scale (a target's, in constraint and
target params). The feature_scale `fair` is taken as at most 1.
"""

from __future__ import annotations

from typing import Any

from ..expressions import Expression
from ..expressions import intervals as iv
from ..expressions.intervals import ANY, Interval
from ..expressions.ranges import RangeError, value_range
from ..limits import MAX_SIDE
from .model import Graph

TRAIN, PIXELS = "train", "pixels"
# the smallest and largest base learning rate of the optimizers (engine/optimizers.py)
BASE_RATES = Interval(0.003, 20.0)


def run_bounds(graph: Graph, values: dict[str, dict[str, Any]],
               epochs: int | None = None) -> dict[str, dict[str, Interval]]:
    """The range of every expression variable over the run: t, epoch (train.epochs),
    width/height (pixels.resolution), lr/lrs (train), sim (features' scales); one set of
    bounds for feature params (raw similarity), one for constraint and target params
    (scaled), one for the rest."""
    train = _values_of(graph, values, TRAIN)
    if epochs is None:
        epochs = train.get("epochs") if isinstance(train.get("epochs"), int) else 300
    base = {"t": Interval(0.0, 1.0), "epoch": Interval(0, max(0, epochs - 1), integral=True)}
    size = _values_of(graph, values, PIXELS).get("resolution")
    for key, index in (("width", 0), ("height", 1)):
        item = size[index] if isinstance(size, list) and len(size) == 2 else None
        side = _range_of(item, base, Interval(1, MAX_SIDE, integral=True))
        base[key] = Interval(max(1, _whole(side.lo)), min(MAX_SIDE, _whole(side.hi)), True)
    lrs = _range_of(train.get("learnrate_scale", 1.0), base, ANY)
    learnrate = _range_of(train.get("learnrate", 1.0), base, ANY)
    base["lrs"] = lrs
    base["lr"] = iv.mul(iv.mul(BASE_RATES, lrs), learnrate)
    raw_sim = Interval(-100.0, 100.0)
    scale = 1.0
    for node in graph:
        if node.type in ("text_feature", "image_feature"):
            found = _range_of(values.get(node.id, {}).get("scale", 1.0),
                              {**base, "sim": raw_sim}, ANY)
            scale = max(scale, abs(found.lo), abs(found.hi))
    scaled = iv.mul(raw_sim, Interval(-scale, scale))
    return {"feature": {**base, "sim": raw_sim}, "target": {**base, "sim": scaled},
            "other": {**base, "sim": Interval(0.0, 0.0)}}


def _values_of(graph: Graph, values: dict, node_type: str) -> dict:
    found = [n.id for n in graph if n.type == node_type]
    return values.get(found[0], {}) if len(found) == 1 else {}


def _range_of(value, bounds, fallback: Interval) -> Interval:
    """The range of a parsed scalar value (a number or an Expression); `fallback` where it
    has none (unset, or failing: that is reported on its own param)."""
    if isinstance(value, bool) or value is None:
        return fallback
    if isinstance(value, (int, float)):
        return Interval.point(value)
    if isinstance(value, Expression):
        try:
            return value_range(value, bounds)
        except RangeError:
            return fallback
    return fallback


def _whole(x):
    try:
        return int(x)
    except (OverflowError, ValueError):
        return MAX_SIDE if x > 0 else 1
