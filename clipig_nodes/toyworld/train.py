"""Train a toy-world CLIP: `python -m clipig_nodes.toyworld.train --seed 0 --out toy.pt`.

A tiny CLIP in OpenAI's architecture (the `clip` package's own `CLIP` class) learns
the scenes of `scenes.py` contrastively, on the CPU, in a couple of minutes. Each
batch holds every sampled scene together with its colour-swapped twin ("a red circle
on a blue background" next to "a blue circle on a red background"), so the model must
learn which colour plays which role, not only which colours are present.

Training is reproducible: one CPU thread, deterministic algorithms, every random draw
from generators seeded by `seed`. The result is saved as a TorchScript archive, the
format of OpenAI's checkpoints, so `clip.load` and the engine's `--model PATH` read it.
`cached_model(seed)` trains once per (training code, config, seed) and keeps the file
under ~/.cache/clipig-nodes/toyworld/ (or CLIPIG_NODES_CACHE).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F

from . import scenes as scenes_module
from .scenes import SHAPES, Scene, all_scenes, draw

CONFIG = {
    "image_size": 32,
    "patch": 8,
    "vision_width": 128,       # heads = width // 64, as the clip package builds them
    "vision_layers": 2,
    "text_width": 64,
    "text_layers": 2,
    "context_length": 16,      # captions are 11 tokens with start and end
    "embed_dim": 64,
    "pairs_per_batch": 48,     # unordered (shape, colour, colour) picks; x2 with the swaps
    "steps": 600,
    "learnrate": 2e-3,
    "warmup": 50,
}
VOCAB_SIZE = 49408              # the clip tokenizer's vocabulary


def _clip():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # clip imports the deprecated pkg_resources
        import clip
        import clip.model  # noqa: F401
    return clip


def build_model(config: dict) -> torch.nn.Module:
    clip = _clip()
    return clip.model.CLIP(
        embed_dim=config["embed_dim"], image_resolution=config["image_size"],
        vision_layers=config["vision_layers"], vision_width=config["vision_width"],
        vision_patch_size=config["patch"], context_length=config["context_length"],
        vocab_size=VOCAB_SIZE, transformer_width=config["text_width"],
        # clip.load rebuilds the text transformer with width // 64 heads: match it
        transformer_heads=max(1, config["text_width"] // 64),
        transformer_layers=config["text_layers"])


def tokenize(captions: list[str], config: dict = CONFIG) -> torch.Tensor:
    return _clip().tokenize(captions, context_length=config["context_length"])


@contextmanager
def reproducible():
    """One thread and deterministic kernels while training, restored afterwards."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _pairs() -> list[tuple[Scene, Scene]]:
    """Each scene with its colour-swapped twin, every unordered pair once (84)."""
    seen, pairs = set(), []
    for scene in all_scenes():
        key = (scene.shape, frozenset((scene.colour, scene.background)))
        if key not in seen:
            seen.add(key)
            pairs.append((scene, scene.swapped()))
    return pairs


def train(seed: int, config: dict = CONFIG, log=None) -> torch.nn.Module:
    """A trained model (eval mode, on the CPU)."""
    with reproducible():
        torch.manual_seed(seed)
        model = build_model(config)
        # random token embeddings already tell the few words apart; not training the
        # 49408 x width table saves most of the optimizer's time
        model.token_embedding.requires_grad_(False)
        generator = torch.Generator().manual_seed(seed + 1)
        pairs = _pairs()
        captions = [s.caption for s in all_scenes()]
        tokens = dict(zip(captions, tokenize(captions, config)))
        trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        decay = [p for n, p in trained if p.ndim >= 2 and "embedding" not in n]
        other = [p for n, p in trained if not (p.ndim >= 2 and "embedding" not in n)]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                       {"params": other, "weight_decay": 0.0}],
                                      lr=config["learnrate"], betas=(0.9, 0.98), eps=1e-6)
        steps, warmup = config["steps"], config["warmup"]
        model.train()
        start = time.monotonic()
        for step in range(steps):
            lr = config["learnrate"] * (min(1.0, (step + 1) / warmup)
                                        * 0.5 * (1 + math.cos(math.pi * step / steps)))
            for group in optimizer.param_groups:
                group["lr"] = lr
            pick = torch.randperm(len(pairs), generator=generator)[:config["pairs_per_batch"]]
            batch = [scene for i in pick.tolist() for scene in pairs[i]]
            images = draw(batch, config["image_size"], generator)
            text = torch.stack([tokens[s.caption] for s in batch])
            logits_image, logits_text = model(_normalise(images), text)
            labels = torch.arange(len(batch))
            loss = (F.cross_entropy(logits_image, labels) + F.cross_entropy(logits_text, labels)) / 2
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            if log and (step % 100 == 0 or step == steps - 1):
                log(f"step {step:4d}/{steps}  loss {loss.item():.3f}  "
                    f"{time.monotonic() - start:.0f}s")
        return model.eval()


def _normalise(images: torch.Tensor) -> torch.Tensor:
    """CLIP's own input normalisation, the one the engine applies to views."""
    from ..engine.clipmodel import CLIP_MEAN, CLIP_STD
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (images - mean) / std


@torch.no_grad()
def evaluate(model: torch.nn.Module, seed: int = 1234, config: dict = CONFIG) -> dict:
    """Zero-shot accuracy on fresh scenes: the right caption among all 168 ('caption'),
    and the right one against its colour-swapped twin ('roles')."""
    world = all_scenes()
    generator = torch.Generator().manual_seed(seed)
    images = draw(world, config["image_size"], generator)
    z = F.normalize(model.encode_image(_normalise(images)).float(), dim=-1)
    t = F.normalize(model.encode_text(tokenize([s.caption for s in world], config)).float(), dim=-1)
    sims = z @ t.T
    caption = (sims.argmax(dim=1) == torch.arange(len(world))).float().mean().item()
    index = {s: i for i, s in enumerate(world)}
    swapped = torch.tensor([index[s.swapped()] for s in world])
    roles = (sims.diagonal() > sims[torch.arange(len(world)), swapped]).float().mean().item()
    return {"caption": caption, "roles": roles}


def save(model: torch.nn.Module, path, config: dict = CONFIG) -> Path:
    """TorchScript archive like OpenAI's checkpoints, written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = config["image_size"]
    example = (torch.rand(1, 3, size, size), tokenize(["a"], config))
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # TorchScript is deprecated, but it is the format
            torch.jit.trace(model, example, check_trace=False).save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cache_key(seed: int, config: dict = CONFIG) -> str:
    """Changes with the training code, the scenes, the config, the seed and torch."""
    digest = hashlib.sha256()
    for module in (scenes_module, sys.modules[__name__]):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(json.dumps(config, sort_keys=True).encode())
    digest.update(f"{seed} {torch.__version__.split('+')[0]}".encode())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    root = os.environ.get("CLIPIG_NODES_CACHE") or os.path.expanduser("~/.cache/clipig-nodes")
    return Path(root) / "toyworld"


def cached_model(seed: int, config: dict = CONFIG, directory=None, log=None) -> Path:
    """Path of the trained model for this seed, training it first if not cached."""
    path = Path(directory or cache_dir()) / f"toyclip-seed{seed}-{cache_key(seed, config)}.pt"
    if not path.is_file():
        save(train(seed, config, log), path, config)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clipig_nodes.toyworld.train",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="checkpoint file to write (not overwritten)")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT")
    parser.add_argument("--steps", type=int, default=CONFIG["steps"])
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        print(f"train: {args.out} exists (use --force to replace it)", file=sys.stderr)
        return 1
    config = dict(CONFIG, steps=args.steps)
    start = time.monotonic()
    model = train(args.seed, config, log=print)
    try:
        save(model, args.out, config)
    except OSError as exc:
        print(f"train: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    scores = evaluate(model, config=config)
    print(f"wrote {args.out} in {time.monotonic() - start:.0f}s: caption accuracy "
          f"{scores['caption']:.2f} (of 168), roles {scores['roles']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
