"""The target: one view of the image, the features it should match and its constraints."""

from clipig_nodes.limits import MAX_BATCH
from clipig_nodes.nodebase import Stage
from clipig_nodes.registry import (CONSTRAINT, FEATURE, IMAGE, TARGET, TARGET_CAT, TRLC, Enum, Float,
                                   Int, Socket, Text)


class Target(Stage):
    """A batch of views of the image, scored by CLIP against features, plus constraints.

    The IMAGE input is the end of the target's transform chain: every sample of the
    batch runs the chain with its own random draws.
    """

    name = "target"
    category = TARGET_CAT
    inputs = (
        Socket("image", IMAGE, doc="The view CLIP sees (end of the transform chain)."),
        Socket("features", FEATURE, multi=True, required=False, doc="CLIP features, in order."),
        Socket("constraints", CONSTRAINT, multi=True, required=False, doc="Non-CLIP losses."),
    )
    outputs = (Socket("target", TARGET, doc="For the Train node's targets input."),)
    params = (
        Text("name", "target", "Name in the statistics."),
        Float("weight", 1.0, "Multiplies the target's whole loss (features and constraints).",
              groups=TRLC),
        Int("batch_size", 1, "Views per epoch, each with its own random transform draws.",
            minimum=1, maximum=MAX_BATCH),
        Enum("select", ("all", "best", "worst", "mix"), "all",
             "all: every feature; best/worst: only the most/least similar one per view; mix: "
             "one weighted mix of the features."),
        Enum("feature_scale", ("equal", "fair"), "equal",
             "fair: scale similarities so that features already close to the initial image "
             "do not dominate select and stats."),
    )

    # --- the target contract (see clipig_nodes/nodebase.py) -----------------------------------
    # For B views and F features:
    #   sim[b,i] = 100 * cos(z_b, f_i) * fair_i * scale_i     (drives select, `sim`, stats)
    #   feature loss per view: select all / best / worst / mix over the enabled features,
    #       each term weight_i * loss_i(z_b, f_i); mix: loss_first(z_b, m_b) with
    #       m_b = sum w_i f_i / sum |w_i|
    #   constraints per view: sum of loss_c(view_b) * weight_c   (sim = mean_i sim[b,i])
    #   view loss = (features + constraints) * target weight; the target's loss is the sum.

    @staticmethod
    def setup(t, image):
        """Fair scales a_i = (1/s_i) / max_j(1/s_j), s_i = f_i . g, g = the image's embedding."""
        import torch
        if not t.embeddings:
            return {}
        if len(set(t.feature_models)) > 1 and t.stage.params["select"] == "mix":
            raise ValueError("select 'mix' needs every feature on one model")
        fair = torch.ones(len(t.embeddings), device=image.device)
        if t.stage.params["feature_scale"] == "fair":
            with torch.no_grad():
                g = {m: t.encode_image(image, m) for m in dict.fromkeys(t.feature_models)}
                inverse = 1.0 / torch.stack([f @ g[m] for f, m in zip(t.embeddings,
                                                                      t.feature_models)])
                fair = inverse / inverse.max()
        return {"fair": fair}

    @staticmethod
    def loss(t):
        import torch
        z = next(iter(t.z.values()))
        batch = z.shape[0]
        stats: dict = {}
        total = torch.zeros(batch, device=z.device)
        mean_sim = torch.zeros(batch, device=z.device)
        if t.embeddings:
            feature_total, sims, per_feature, used = _feature_loss(t, batch)
            total = total + feature_total
            mean_sim = sims.mean(dim=1)
            stats.update(sim=sims.detach(), feature_loss=per_feature.detach(), used=used.detach())
        constraint_losses = []
        for stage in t.constraints:
            if not t.active(stage):
                constraint_losses.append(None)
                continue
            p = t.params(stage, batch, sim=mean_sim)
            ell = stage.node_type.loss_function(p.value("loss"))
            value = t.call(stage, stage.node_type.loss, t.views, p, ell) * p.tensor("weight")
            constraint_losses.append(value.detach())
            total = total + value
        stats["constraint_loss"] = constraint_losses
        weight = t.params(t.stage, batch, sim=mean_sim).tensor("weight")
        return total * weight, stats


def feature_loss(name, z, f):
    """Per-view loss between embeddings z [B,D] and targets f [B,D] or [D] -> [B]."""
    import torch.nn.functional as F
    if name == "cosine":
        return 1 - F.cosine_similarity(z, f.expand_as(z), dim=-1)
    diff = z - f
    return 100 * (diff.abs() if name == "l1" else diff * diff).mean(dim=-1)


def _cosines(t):
    """cos [B,F] of every view with every feature, each on the feature's own model."""
    import torch
    models = t.feature_models
    if len(set(models)) == 1:
        return t.z[models[0]].float() @ torch.stack(t.embeddings).T
    return torch.stack([t.z[m].float() @ f for f, m in zip(t.embeddings, models)], dim=1)


def _feature_loss(t, batch):
    import torch
    stages, f_list, models = t.features, t.embeddings, t.feature_models
    n = len(stages)
    cos = _cosines(t)                                           # [B,F]
    raw_sims = 100 * cos * t.state["fair"]
    device = cos.device
    enabled = [t.active(s) for s in stages]
    enabled_t = t.constant(tuple(enabled))
    scales, weights, losses = [], [], []
    for i, stage in enumerate(stages):
        p = t.params(stage, batch, sim=raw_sims[:, i])
        scales.append(p.tensor("scale"))
        weights.append(p.tensor("weight"))
        name = p.value("loss")
        # z and f are unit vectors: their cosine is already in `cos`
        losses.append(1 - cos[:, i] if name == "cosine"
                      else feature_loss(name, t.z[models[i]].float(), f_list[i]))
    sims = raw_sims * torch.stack(scales, dim=1)
    weights_t = torch.stack(weights, dim=1)                   # [B,F]
    losses_t = torch.stack(losses, dim=1)                     # [B,F]
    if not any(enabled):
        zero = torch.zeros(batch, device=device)
        return zero, sims, torch.zeros_like(losses_t), torch.zeros_like(losses_t, dtype=torch.bool)
    select = t.stage.params["select"]
    if select == "mix":
        z32 = t.z[models[0]].float()
        f = torch.stack(f_list)
        w = weights_t * enabled_t
        norm = w.abs().sum(dim=1, keepdim=True)
        mixed = (w[:, :, None] * f[None]).sum(dim=1) / norm.clamp_min(1e-12)
        first_loss = t.params(stages[0], batch).value("loss")
        value = torch.where(norm[:, 0] > 0, feature_loss(first_loss, z32, mixed),
                            torch.zeros(batch, device=device))
        used = enabled_t.expand(batch, n)
        return value, sims, losses_t * used, used
    if select == "all":
        used = enabled_t.expand(batch, n)
    else:
        fill = float("-inf") if select == "best" else float("inf")
        ranked = sims.masked_fill(~enabled_t, fill)
        pick = ranked.argmax(dim=1) if select == "best" else ranked.argmin(dim=1)
        # a comparison, not F.one_hot: one_hot checks its indices on the host (a sync)
        used = (torch.arange(n, device=device) == pick[:, None]) & enabled_t
    contributions = weights_t * losses_t * used
    return contributions.sum(dim=1), sims, losses_t * used, used
