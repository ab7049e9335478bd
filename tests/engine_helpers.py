"""Building run-time params for node code in tests, without a whole graph."""

import random

import torch

from clipig_nodes.engine.params import EpochContext, StageParams
from clipig_nodes.graph.compile import Stage
from clipig_nodes.registry import default_registry
from clipig_nodes.values import parse_value


def make_context(seed=0, epoch=0, t=0.0, width=224, height=224, lr=0.01, lrs=1.0, device="cpu"):
    device = torch.device(device)
    return EpochContext(epoch, t, device, torch.Generator(device).manual_seed(seed),
                        random.Random(seed), width=width, height=height, lr=lr, lrs=lrs)


def stage_params(type_name, params=None, batch=1, sim=None, ctx=None, **ctx_args):
    """StageParams for a node of `type_name` with `params` (CLIPig syntax, defaults filled)."""
    node_type = default_registry()[type_name]
    params = params or {}
    parsed = {p.name: parse_value(p, params.get(p.name, p.default)) for p in node_type.param_list}
    stage = Stage(f"{type_name}_test", type_name, parsed, node_type)
    return StageParams(stage, ctx or make_context(**ctx_args), batch, sim)


def apply(type_name, x, params=None, **kw):
    """Run a transform node's torch code on x [B,3,H,W]."""
    node_type = default_registry()[type_name]
    return node_type.apply(x, stage_params(type_name, params, batch=x.shape[0], **kw))
