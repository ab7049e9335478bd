"""Training statistics, kept as device tensors and read only when shown.

Each epoch's per-target tensors (similarities, feature losses, which features
were used, constraint losses) go into a window of the last 30 epochs; nothing
is copied to the host until `summary()` is called (every few seconds by the
CLI and the GUI), so the training step never waits for the device.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import torch

WINDOW = 30


@dataclass
class FeatureStats:
    name: str
    label: str
    weight: str
    count: int
    percent: float
    loss: tuple[float, float, float]      # mean, min, max
    sim: tuple[float, float, float]


@dataclass
class ConstraintStats:
    name: str
    label: str
    weight: str
    count: int
    loss: tuple[float, float, float]


@dataclass
class TargetStats:
    name: str
    features: list[FeatureStats] = field(default_factory=list)
    constraints: list[ConstraintStats] = field(default_factory=list)


class Stats:
    def __init__(self, targets):
        """targets: the compiled TargetPlans, in order."""
        self.targets = targets
        self.window = {t.id: deque(maxlen=WINDOW) for t in targets}
        self.losses: deque = deque(maxlen=WINDOW)

    def record(self, target_id: str, stats: dict) -> None:
        self.window[target_id].append(stats)

    def record_loss(self, loss: torch.Tensor) -> None:
        self.losses.append(loss.detach())

    def loss_summary(self) -> tuple[float, float, float] | None:
        if not self.losses:
            return None
        values = torch.stack([v.float().reshape(()) for v in self.losses]).cpu()
        return float(values.mean()), float(values.min()), float(values.max())

    def summary(self) -> list[TargetStats]:
        out = []
        for target in self.targets:
            plan = target
            entry = TargetStats(plan.stage.params["name"])
            records = list(self.window[target.id])
            samples = sum(r["sim"].shape[0] if "sim" in r else 0 for r in records)
            for i, stage in enumerate(plan.features):
                rows = [r for r in records if "sim" in r]
                used = [r["used"][:, i] for r in rows]
                sims = [r["sim"][:, i][u] for r, u in zip(rows, used)]
                losses = [r["feature_loss"][:, i][u] for r, u in zip(rows, used)]
                count = int(sum(int(u.sum()) for u in used))
                entry.features.append(FeatureStats(
                    stage.id, _feature_label(stage), _show(stage.params["weight"]), count,
                    100.0 * count / max(1, samples), _triple(losses), _triple(sims)))
            for i, stage in enumerate(plan.constraints):
                values = [r["constraint_loss"][i] for r in records
                          if i < len(r.get("constraint_loss", ())) and r["constraint_loss"][i] is not None]
                entry.constraints.append(ConstraintStats(
                    stage.id, _constraint_label(stage), _show(stage.params["weight"]),
                    sum(v.numel() for v in values), _triple(values)))
            out.append(entry)
        return out


def _triple(tensors) -> tuple[float, float, float]:
    tensors = [t.float().flatten() for t in tensors if t.numel()]
    if not tensors:
        return (0.0, 0.0, 0.0)
    values = torch.cat(tensors).cpu()
    return float(values.mean()), float(values.min()), float(values.max())


def _show(value) -> str:
    from ..values import to_plain
    plain = to_plain(value)
    return f"{plain:g}" if isinstance(plain, float) else str(plain)


def _feature_label(stage) -> str:
    if stage.type == "text_feature":
        text = stage.params["text"]
        return text if len(text) <= 40 else text[:38] + ".."
    path = str(stage.params.get("image", ""))
    return path if len(path) <= 40 else ".." + path[-38:]


def _constraint_label(stage) -> str:
    skip = {"weight", "active", "start", "end"}
    args = ", ".join(f"{k}={_show(v)}" for k, v in stage.params.items()
                     if k not in skip and v is not None)
    return f"{stage.type.removesuffix('_constraint')}({args})"


def format_table(summary: list[TargetStats]) -> str:
    """The per-target/feature table as CLIPig prints it, aligned."""
    rows = []
    for target in summary:
        for f in target.features:
            rows.append((f"{target.name}", f"{f.weight} x {f.label}",
                         f"count {f.count} ({f.percent:.0f}%)",
                         "loss {:.3f} ({:.3f} - {:.3f})".format(*f.loss),
                         "sim {:.3f} ({:.3f} - {:.3f})".format(*f.sim)))
        for c in target.constraints:
            rows.append((f"  constraint", f"{c.weight} x {c.label}", f"count {c.count}",
                         "loss {:.3f} ({:.3f} - {:.3f})".format(*c.loss), ""))
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(" : ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip(" :")
                     for r in rows)
