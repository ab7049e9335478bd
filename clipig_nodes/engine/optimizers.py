"""CLIPig's optimizer names, their torch classes and base learning rates.

The effective rate each epoch is base x learnrate_scale x learnrate.
"""

from __future__ import annotations

import torch

# name -> (factory(params, lr), base rate)
OPTIMIZERS = {
    "adam": (lambda params, lr: torch.optim.Adam(params, lr=lr), 0.01),
    "sgd": (lambda params, lr: torch.optim.SGD(params, lr=lr), 10.0),
    # CLIPig maps sparse_adam to plain RMSprop (SparseAdam cannot take dense gradients)
    "sparse_adam": (lambda params, lr: torch.optim.RMSprop(params, lr=lr), 0.01),
    "adadelta": (lambda params, lr: torch.optim.Adadelta(params, lr=lr), 20.0),
    # CLIPig's spelling of centered RMSprop; `rmsprop` is the same, spelled correctly
    "rmsprob": (lambda params, lr: torch.optim.RMSprop(params, lr=lr, centered=True, momentum=0.1),
                0.003),
    "rmsprop": (lambda params, lr: torch.optim.RMSprop(params, lr=lr, centered=True, momentum=0.1),
                0.003),
}


def make_optimizer(name: str, params, lr: float, capturable: bool = False) -> torch.optim.Optimizer:
    """capturable: the optimizer's step can be captured in a CUDA graph (state on the device,
    the learning rate a tensor), where its class supports that."""
    factory, _ = OPTIMIZERS[name]
    optimizer = factory(params, lr)
    if capturable:
        for group in optimizer.param_groups:
            if "capturable" in group:
                group["capturable"] = True
    return optimizer


def base_rate(name: str) -> float:
    return OPTIMIZERS[name][1]
