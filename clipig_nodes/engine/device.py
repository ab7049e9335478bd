"""Choosing the device: auto (CUDA when present, else CPU), cpu, cuda, cuda:N."""

from __future__ import annotations

import torch

from .errors import EngineError


def resolve_device(name: str | None) -> torch.device:
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EngineError(f"device '{name}' was asked for, but CUDA is not available on this "
                              "machine: use --device cpu (or auto)")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise EngineError(f"device '{name}' does not exist: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
        return device
    raise EngineError(f"unknown device '{name}': use auto, cpu, cuda or cuda:N")
