"""One target at run time: its batch of views and its loss (LEGACY_FORMAT section 5.2).

For a target with B views and F features:
  sim[b,i]  = 100 * cos(z_b, f_i) * fair_i * scale_i      (drives select, `sim`, stats)
  feature loss per view: select all / best / worst / mix over the enabled features,
                         each term weight_i * loss_i(z_b, f_i); mix: loss_first(z_b, m_b)
                         with m_b = sum w_i f_i / sum |w_i|
  constraints per view:  sum of loss_c(view_b) * weight_c   (sim = mean_i sim[b,i])
  view loss = (features + constraints) * target weight; the target's loss is the sum.
Everything stays on the device; statistics are kept as tensors (see stats.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..registry import default_registry
from ..values import is_active_at
from . import imaging
from .errors import in_node
from .params import EpochContext, StageParams


@dataclass
class EncodedFeatures:
    embeddings: torch.Tensor        # [F, D] normalised
    fair: torch.Tensor              # [F] fair scales (1 under `equal`)


def feature_loss(name: str, z: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Per-view loss between embeddings z [B,D] and targets f [B,D] or [D] -> [B]."""
    if name == "cosine":
        return 1 - F.cosine_similarity(z, f.expand_as(z), dim=-1)
    diff = z - f
    return 100 * (diff.abs() if name == "l1" else diff * diff).mean(dim=-1)


class TargetRuntime:
    def __init__(self, plan, features: EncodedFeatures | None, model_input: int):
        self.plan = plan
        self.features = features
        self.model_input = model_input
        self.registry = default_registry()
        self.select = plan.stage.params["select"]
        self.batch_size = plan.stage.params["batch_size"]

    @property
    def id(self) -> str:
        return self.plan.id

    def active(self, ctx: EpochContext) -> bool:
        s = self.plan.stage
        return is_active_at(s.start, s.end, ctx.epoch, ctx.t)

    # --- views ------------------------------------------------------------------------------

    def views(self, pixels: torch.Tensor, ctx: EpochContext) -> torch.Tensor:
        """pixels [1,3,H,W] in [0,1] -> this epoch's views [B,3,S,S] as CLIP sees them."""
        chain = [s for s in self.plan.chain if is_active_at(s.start, s.end, ctx.epoch, ctx.t)]
        # without a random stage every view would be the same: one is enough
        batch = self.batch_size if any(s.random for s in chain) else 1
        x = pixels.expand(batch, -1, -1, -1)
        for stage in chain:
            node_type = self.registry[stage.type]
            if node_type.geometric and not isinstance(x, imaging.Warped):
                # fuse this run of geometric stages: compose pixel maps, read pixels once
                # (a batch broadcast from one image keeps one copy as the source)
                x = imaging.Warped.of(x[:1] if x.stride(0) == 0 else x, batch)
            elif not node_type.geometric:
                x = imaging.materialize(x)
            with in_node(stage.id, stage.type):
                x = node_type.apply(x, StageParams(stage, ctx, batch))
        x = imaging.materialize(x)
        size = self.model_input
        x = imaging.resize(x, (size, size), "bicubic", antialias=True)
        return x.clamp(0, 1)

    # --- loss -------------------------------------------------------------------------------

    def loss(self, z: torch.Tensor, views: torch.Tensor, ctx: EpochContext):
        """Embeddings z [B,D] and views [B,3,S,S] -> (loss [B], stats dict of tensors)."""
        batch = z.shape[0]
        stats: dict = {}
        total = torch.zeros(batch, device=z.device)
        mean_sim = torch.zeros(batch, device=z.device)
        if self.features is not None and self.plan.features:
            feature_total, sims, per_feature, used = self._feature_loss(z, ctx)
            total = total + feature_total
            mean_sim = sims.mean(dim=1)
            stats.update(sim=sims.detach(), feature_loss=per_feature.detach(), used=used.detach())
        constraint_losses = []
        for stage in self.plan.constraints:
            if not is_active_at(stage.start, stage.end, ctx.epoch, ctx.t):
                constraint_losses.append(None)
                continue
            node_type = self.registry[stage.type]
            p = StageParams(stage, ctx, batch, sim=mean_sim)
            with in_node(stage.id, stage.type):
                ell = node_type.loss_function(p.value("loss"))
                value = node_type.loss(views, p, ell) * p.tensor("weight")
            constraint_losses.append(value.detach())
            total = total + value
        stats["constraint_loss"] = constraint_losses
        weight = StageParams(self.plan.stage, ctx, batch, sim=mean_sim).tensor("weight")
        return total * weight, stats

    def _feature_loss(self, z: torch.Tensor, ctx: EpochContext):
        stages = self.plan.features
        f = self.features.embeddings
        batch, n = z.shape[0], len(stages)
        z32 = z.float()
        cos = z32 @ f.T                                         # [B,F]
        raw_sims = 100 * cos * self.features.fair
        enabled = [is_active_at(s.start, s.end, ctx.epoch, ctx.t) for s in stages]
        enabled_t = torch.tensor(enabled, device=z.device)
        scales, weights, losses = [], [], []
        for i, stage in enumerate(stages):
            p = StageParams(stage, ctx, batch, sim=raw_sims[:, i])
            scales.append(p.tensor("scale"))
            weights.append(p.tensor("weight"))
            name = p.value("loss")
            # z and f are unit vectors: their cosine is already in `cos`
            losses.append(1 - cos[:, i] if name == "cosine" else feature_loss(name, z32, f[i]))
        sims = raw_sims * torch.stack(scales, dim=1)
        weights_t = torch.stack(weights, dim=1)                   # [B,F]
        losses_t = torch.stack(losses, dim=1)                     # [B,F]
        if not any(enabled):
            zero = torch.zeros(batch, device=z.device)
            return zero, sims, torch.zeros_like(losses_t), torch.zeros_like(losses_t, dtype=torch.bool)
        if self.select == "mix":
            w = weights_t * enabled_t
            norm = w.abs().sum(dim=1, keepdim=True)
            mixed = (w[:, :, None] * f[None]).sum(dim=1) / norm.clamp_min(1e-12)
            first_loss = StageParams(stages[0], ctx, batch).value("loss")
            value = torch.where(norm[:, 0] > 0, feature_loss(first_loss, z32, mixed),
                                torch.zeros(batch, device=z.device))
            used = enabled_t.expand(batch, n)
            return value, sims, losses_t * used, used
        if self.select == "all":
            used = enabled_t.expand(batch, n)
        else:
            fill = float("-inf") if self.select == "best" else float("inf")
            ranked = sims.masked_fill(~enabled_t, fill)
            pick = ranked.argmax(dim=1) if self.select == "best" else ranked.argmin(dim=1)
            used = F.one_hot(pick, n).bool() & enabled_t
        contributions = weights_t * losses_t * used
        return contributions.sum(dim=1), sims, losses_t * used, used
