"""CLIP through the openai `clip` package: loading, frozen, with cached features.

`load_clip(name_or_path, device)` returns a `ClipModel`: the model frozen in
eval mode, its own input size (224, 288, 336, ...), its embedding size, and encoders for views
(with gradient), texts and image files (once, under no_grad, cached by model
and content so a re-run in the same process reuses them).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from .errors import EngineError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CACHE_DIR = Path(os.path.expanduser("~/.cache/clip"))

_models: dict[tuple[str, str], "ClipModel"] = {}
_features: dict[tuple, torch.Tensor] = {}


def _clip_package():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # clip imports the deprecated pkg_resources
        import clip
    return clip


def available_models() -> list[str]:
    return _clip_package().available_models()


def resolve_checkpoint(name: str, download_root: Path | None = None) -> Path:
    """The checkpoint file for a model name or path; downloads a known name once.

    Offline with nothing cached ends in one EngineError that names the file looked
    for and how to pass a local checkpoint instead.
    """
    clip = _clip_package()
    path = Path(os.path.expanduser(name))
    if path.is_file():
        return path
    models = clip.clip._MODELS
    if name not in models:
        raise EngineError(f"unknown CLIP model '{name}' (and no checkpoint file {path}): use one "
                          f"of {', '.join(models)}, or a path to a checkpoint file")
    root = Path(download_root or CACHE_DIR)
    expected = root / os.path.basename(models[name])
    if expected.is_file():
        return expected
    try:
        return Path(clip.clip._download(models[name], str(root)))
    except Exception as exc:  # no network, disk full, checksum mismatch, ...
        raise EngineError(
            f"CLIP model '{name}' is not cached (looked for {expected}) and could not be "
            f"downloaded: {type(exc).__name__}: {exc}. Download {models[name]} to that path "
            "on a machine with internet, or pass a local checkpoint with --model PATH") from None


class ClipModel:
    """A frozen CLIP model on one device."""

    def __init__(self, model: torch.nn.Module, key: str, device: torch.device):
        self.model = model.float().eval().requires_grad_(False)
        self.key = key
        self.device = device
        self.input_size = int(model.visual.input_resolution)
        self.embed_dim = int(model.visual.output_dim)
        self.context_length = int(model.context_length)
        self.mean = torch.tensor(CLIP_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(CLIP_STD, device=device).view(1, 3, 1, 1)
        self.visual = self.model.visual    # what encode_views runs (torch.compile may wrap it)

    def encode_views(self, views: torch.Tensor) -> torch.Tensor:
        """[N,3,S,S] in [0,1] -> L2-normalised embeddings [N,D] (gradient flows to views)."""
        x = (views - self.mean) / self.std
        embeddings = self.visual(x.to(self.model.visual.conv1.weight.dtype))
        return embeddings / embeddings.norm(dim=-1, keepdim=True)

    @torch.no_grad()
    def encode_text(self, text: str) -> torch.Tensor:
        """A prompt -> normalised embedding [D]; cached by (model, text)."""
        cache_key = (self.key, str(self.device), "text", text)
        if cache_key not in _features:
            clip = _clip_package()
            try:
                tokens = clip.tokenize([text], context_length=self.context_length)
            except RuntimeError:
                raise EngineError(f"text is longer than CLIP's limit of {self.context_length} "
                                  f"tokens: '{text[:60]}...'") from None
            embedding = self.model.encode_text(tokens.to(self.device)).float()[0]
            _features[cache_key] = embedding / embedding.norm()
        return _features[cache_key]

    def encode_image_file(self, path: str | os.PathLike) -> torch.Tensor:
        """An image file -> normalised embedding [D] (see image_file_embedding)."""
        return image_file_embedding(self, path)


@torch.no_grad()
def image_file_embedding(model, path: str | os.PathLike) -> torch.Tensor:
    """An image file -> the model's normalised embedding [D], through CLIP's own preprocessing
    (shorter side to the model's input size, center crop) and the model's encode_views (its
    own normalisation); cached by (model, path, mtime). Every model class uses this."""
    from .images import load_rgb

    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        raise EngineError(f"image feature: file not found: {path}") from None
    cache_key = (model.key, str(model.device), "image", str(path.resolve()), stamp)
    if cache_key not in _features:
        x = _preprocess(load_rgb(path), model.input_size).to(model.device)   # [1,3,S,S]
        _features[cache_key] = model.encode_views(x)[0].float()
    return _features[cache_key]


def _preprocess(image: torch.Tensor, size: int) -> torch.Tensor:
    """CLIP's preprocessing on a tensor: resize the shorter side (bicubic), center crop."""
    import torch.nn.functional as F

    _, h, w = image.shape
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    x = F.interpolate(image[None], size=(nh, nw), mode="bicubic", align_corners=False,
                      antialias=True).clamp(0, 1)
    top, left = (nh - size) // 2, (nw - size) // 2
    return x[:, :, top:top + size, left:left + size]


def _load_model(checkpoint: Path, device: torch.device) -> torch.nn.Module:
    """clip.load for OpenAI's TorchScript checkpoints; plain state dicts go through the
    package's own build_model (clip.load cannot read them with current torch: its
    failed TorchScript attempt leaves the file at its end)."""
    clip = _clip_package()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model, _ = clip.load(str(checkpoint), device=device, jit=False)
            return model
        except (EOFError, RuntimeError):
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or "visual.conv1.weight" not in state and \
                    "visual.layer1.0.conv1.weight" not in state:
                raise ValueError("not a CLIP checkpoint (no visual encoder weights)") from None
            return clip.model.build_model(state).to(device)


def load_clip(name: str, device: torch.device, download_root: Path | None = None) -> ClipModel:
    """Load (once per process and device) a CLIP model by name or checkpoint path."""
    checkpoint = resolve_checkpoint(name, download_root)
    key = (str(checkpoint.resolve()), str(device))
    if key not in _models:
        try:
            model = _load_model(checkpoint, device)
        except Exception as exc:
            raise EngineError(f"cannot load CLIP checkpoint {checkpoint}: "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                              ) from None
        _models[key] = ClipModel(model, f"{name}@{checkpoint}", device)
    return _models[key]

