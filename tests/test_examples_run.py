"""Every template in graphs/ and every example of LEGACY_FORMAT.md trains (2 epochs)."""

import shutil
from pathlib import Path

import pytest
import torch

from clipig_nodes.engine import run_graph

from .legacy_examples import VALID
from .tiny_openclip import with_tiny_models

GRAPHS_DIR = Path(__file__).resolve().parent.parent / "graphs"
TEMPLATES = sorted(GRAPHS_DIR.glob("*.graph.yaml"))


def check(result):
    assert result.epochs == 2
    assert torch.isfinite(result.pixels).all()
    assert result.pixels.min() >= 0 and result.pixels.max() <= 1


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_runs(path, tiny_clip, tmp_path):
    # model nodes get tiny random models of their library (no weights download in tests)
    check(run_graph(with_tiny_models(path, tmp_path), model=tiny_clip, device="cpu", epochs=2,
                    seed=0))


@pytest.mark.parametrize("name", sorted(VALID))
def test_legacy_example_runs(name, tiny_clip, tmp_path):
    shutil.copytree(GRAPHS_DIR / "photos", tmp_path / "photos")     # V5's pictures
    config = tmp_path / f"{name}.yaml"
    config.write_text(VALID[name])
    check(run_graph(config, model=tiny_clip, device="cpu", epochs=2, seed=0))
