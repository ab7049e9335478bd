"""A tiny random-weight CLIP, saved as a checkpoint and loaded through clip.load.

Small enough for CI (13 MB, 32x32 input), built by the clip package's own model
class and saved as a TorchScript archive like OpenAI's published checkpoints,
so `clip.load(path)` reads it with its real loading code. `as_state_dict=True`
saves a plain state dict instead (the other kind of checkpoint users have).
"""

import warnings

import torch


def build_tiny_clip(path, image_resolution=32, seed=0, as_state_dict=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import clip
        from clip.model import CLIP
    torch.manual_seed(seed)
    model = CLIP(embed_dim=32, image_resolution=image_resolution, vision_layers=1,
                 vision_width=64, vision_patch_size=16, context_length=77, vocab_size=49408,
                 transformer_width=64, transformer_heads=1, transformer_layers=1).eval()
    if as_state_dict:
        torch.save(model.state_dict(), path)
    else:
        example = (torch.rand(1, 3, image_resolution, image_resolution), clip.tokenize(["a"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # TorchScript is deprecated, but it is the format
            torch.jit.trace(model, example, check_trace=False).save(str(path))
    return path
