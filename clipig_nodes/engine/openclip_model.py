"""OpenCLIP models through open-clip-torch (the optional extra `openclip`).

`load_openclip(architecture, pretrained, device)` returns an `OpenClipModel` with
the same face as `clipmodel.ClipModel`: `key`, `input_size`, `embed_dim`,
`encode_views` (the model's own normalisation inside), `encode_text`,
`encode_image_file`. The architecture is a name open_clip knows (`ViT-B-32`) or a
model config file (`*.json`, registered under its file name); `pretrained` is a
tag (`laion2b_s34b_b79k`) or a checkpoint path. Every failure is one EngineError.
"""

from __future__ import annotations

import logging
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

from ..registry import unknown_message
from .clipmodel import _features, image_file_embedding
from .errors import EngineError

_models: dict[tuple[str, str, str], "OpenClipModel"] = {}


def open_clip_package():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import open_clip
    except ImportError:
        raise EngineError("OpenCLIP models need the open-clip-torch package: "
                          "pip install 'clipig-nodes[openclip]' (or pip install "
                          "open-clip-torch)") from None
    return open_clip


@contextmanager
def _quiet():
    """open_clip and huggingface_hub log their failures and retries; the user gets one
    message from us instead."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def resolve_architecture(name: str) -> str:
    """The open_clip model name for an architecture name or a model config .json file."""
    open_clip = open_clip_package()
    path = Path(os.path.expanduser(name))
    if name.endswith(".json"):
        if not path.is_file():
            raise EngineError(f"OpenCLIP model config file not found: {path}")
        with _quiet():
            open_clip.add_model_config(str(path))
        if path.stem not in open_clip.list_models():
            raise EngineError(f"{path} is not an OpenCLIP model config (it needs embed_dim, "
                              "vision_cfg and text_cfg)")
        return path.stem
    known = open_clip.list_models()
    if name not in known:
        raise EngineError(unknown_message("OpenCLIP architecture", name, known)
                          + "; `python -c \"import open_clip; print(open_clip.list_models())\"` "
                            "lists them, or give a model config .json")
    return name


def _pretrained_source(open_clip, architecture: str, pretrained: str) -> str:
    """A checkpoint path as it is, or a tag checked against the architecture's tags."""
    path = Path(os.path.expanduser(pretrained))
    if path.is_file():
        return str(path)
    tags = open_clip.list_pretrained_tags_by_model(architecture)
    if pretrained not in tags:
        hint = f"known tags: {', '.join(tags)}" if tags else "it has no published weights"
        raise EngineError(f"'{pretrained}' is neither a checkpoint file nor a pretrained tag of "
                          f"OpenCLIP's {architecture} ({hint})")
    return pretrained


class OpenClipModel:
    """A frozen OpenCLIP model on one device."""

    def __init__(self, model, tokenizer, key: str, device: torch.device, preprocess: dict):
        self.model = model.float().eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.key = key
        self.device = device
        size = preprocess.get("size", 224)
        self.input_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.embed_dim = int(model.visual.output_dim)
        self.mean = torch.tensor(preprocess["mean"], device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(preprocess["std"], device=device).view(1, 3, 1, 1)
        self.visual = self.model.visual

    def encode_views(self, views: torch.Tensor) -> torch.Tensor:
        """[N,3,S,S] in [0,1] -> L2-normalised embeddings [N,D] (gradient flows to views)."""
        embeddings = self.visual((views - self.mean) / self.std)
        return embeddings / embeddings.norm(dim=-1, keepdim=True)

    @torch.no_grad()
    def encode_text(self, text: str) -> torch.Tensor:
        """A prompt -> normalised embedding [D]; cached by (model, text). Longer prompts are
        cut at the model's context length, as open_clip's tokenizer does."""
        cache_key = (self.key, str(self.device), "text", text)
        if cache_key not in _features:
            tokens = self.tokenizer([text]).to(self.device)
            embedding = self.model.encode_text(tokens).float()[0]
            _features[cache_key] = embedding / embedding.norm()
        return _features[cache_key]

    def encode_image_file(self, path) -> torch.Tensor:
        """An image file -> normalised embedding [D] (see clipmodel.image_file_embedding)."""
        return image_file_embedding(self, path)


def load_openclip(architecture: str, pretrained: str | None, device: torch.device,
                  cache_dir: str | None = None) -> OpenClipModel:
    """Load (once per process and device) an OpenCLIP model; EngineError for every failure."""
    open_clip = open_clip_package()
    name = resolve_architecture(architecture)
    if not pretrained:
        raise EngineError(f"OpenCLIP's {name} needs `pretrained`: a tag ("
                          f"{', '.join(open_clip.list_pretrained_tags_by_model(name)[:3]) or 'none'}"
                          ", ...) or a checkpoint path")
    source = _pretrained_source(open_clip, name, pretrained)
    key = (name, source, str(device))
    if key in _models:
        return _models[key]
    try:
        with _quiet():
            model = open_clip.create_model(name, pretrained=source, device=device,
                                           cache_dir=cache_dir)
            tokenizer = open_clip.get_tokenizer(name)
            preprocess = open_clip.get_model_preprocess_cfg(model)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        if Path(source).is_file():
            raise EngineError(f"cannot load OpenCLIP checkpoint {source} as {name}: "
                              f"{type(exc).__name__}: {first[:300]}") from None
        where = cache_dir or "the Hugging Face cache (~/.cache/huggingface)"
        raise EngineError(
            f"OpenCLIP weights {name}/{source} are not cached in {where} and could not be "
            f"downloaded ({type(exc).__name__}: {first[:200]}). Download them on a machine "
            "with internet, or pass a local checkpoint path as `pretrained`") from None
    _models[key] = OpenClipModel(model, tokenizer, f"openclip:{name}:{source}", device, preprocess)
    return _models[key]
