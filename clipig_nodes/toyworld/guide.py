"""Runs guided by a toy-world CLIP: the graph for a prompt, a run, and held-out scores.

`toy_graph(scene, model_path, ...)` builds the graph of one benchmark setting (a source
type, with or without cutouts); `score(image, scene, judge_model)` is the held-out CLIP's
probability of the asked caption among all 168 captions of the world.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import torch
import torch.nn.functional as F

from ..graph.model import Graph
from .scenes import Scene, all_scenes


def toy_graph(scene: Scene, model_path, *, source: str = "pixels", cutouts: bool = False,
              resolution: int = 64, epochs: int = 100, learnrate: float = 1.0,
              batch_size: int = 4, seed: int = 0, source_params: dict | None = None,
              train_params: dict | None = None, cutout_params: dict | None = None,
              ensemble: tuple = ()) -> Graph:
    """source -> (random shift | cutouts) -> target(text) -> train; `ensemble`: more
    model paths, each with a clip_model node and its own text feature in the target."""
    graph = Graph(f"toy world: {scene.caption}")
    params = {"resolution": [resolution, resolution]}
    if source == "pixels":
        params.update(init_mean=[0.5, 0.5, 0.5], init_std=[0.1, 0.1, 0.1])
    params.update(source_params or {})
    graph.add_node(source, "source", params)
    previous = "source"
    if cutouts:
        # as many views as the shift chain makes, so both see the same number per epoch
        graph.add_node("cutouts", "cutouts", {"count": batch_size, "size": 32,
                                              "min_size": 0.6, "max_size": 1.0,
                                              **(cutout_params or {})})
        batch_size = 1
        graph.connect(previous, "image", "cutouts", "image")
        previous = "cutouts"
    else:
        # wrap-around shifts: the border is background in every scene, so wrapping it is harmless
        graph.add_node("random_shift", "random_shift", {"range": [-0.08, 0.08]})
        graph.connect(previous, "image", "random_shift", "image")
        previous = "random_shift"
    graph.add_node("target", "target", {"batch_size": batch_size})
    graph.connect(previous, "image", "target", "image")
    graph.add_node("text_feature", "text", {"text": scene.caption})
    graph.connect("text", "feature", "target", "features")
    for i, path in enumerate(ensemble, start=2):
        graph.add_node("clip_model", f"model{i}", {"name": str(path)})
        graph.add_node("text_feature", f"text{i}", {"text": scene.caption})
        graph.connect(f"model{i}", "model", f"text{i}", "model")
        graph.connect(f"text{i}", "feature", "target", "features")
    graph.add_node("train", "train", {"epochs": epochs, "learnrate": learnrate,
                                      "model": str(model_path), "device": "cpu",
                                      "seed": seed, "snapshot_interval": 0,
                                      **(train_params or {})})
    graph.connect("target", "target", "train", "targets")
    return graph


def _load_judge(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import clip
        model, _ = clip.load(str(path), device="cpu", jit=False)
    return model.float().eval()


class Judge:
    """A held-out toy-world CLIP that scores images against the world's captions."""

    def __init__(self, path):
        from .train import _normalise, tokenize
        self.model = _load_judge(path)
        self.scenes = all_scenes()
        self.index = {s: i for i, s in enumerate(self.scenes)}
        self._normalise = _normalise
        size = self.model.visual.input_resolution
        self.size = int(size)
        with torch.no_grad():
            tokens = tokenize([s.caption for s in self.scenes],
                              {"context_length": self.model.context_length})
            self.text = F.normalize(self.model.encode_text(tokens).float(), dim=-1)
            self.scale = float(self.model.logit_scale.exp())

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """[N,3,H,W] in [0,1] -> [N,168] softmax over the world's captions."""
        x = F.interpolate(images.float(), size=(self.size, self.size), mode="bicubic",
                          align_corners=False, antialias=True).clamp(0, 1)
        z = F.normalize(self.model.encode_image(self._normalise(x)).float(), dim=-1)
        return (self.scale * z @ self.text.T).softmax(dim=-1)

    def score(self, images: torch.Tensor, scene: Scene) -> torch.Tensor:
        """[N] probability of the asked caption."""
        return self.probabilities(images)[:, self.index[scene]]
