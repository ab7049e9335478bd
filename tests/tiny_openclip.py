"""A tiny random-weight OpenCLIP model: a model config .json and a checkpoint of random
weights, loaded through open_clip's own create_model (input 48x48, embeddings of 24)."""

import json
import warnings

import torch

TINY_CONFIG = {
    "embed_dim": 24,
    "vision_cfg": {"image_size": 48, "layers": 1, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1},
}


def build_tiny_openclip(folder, name="tiny-openclip", seed=0, embed_dim=24):
    """-> (config path, checkpoint path) in `folder`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import open_clip
    config = dict(TINY_CONFIG, embed_dim=embed_dim)
    config_path = folder / f"{name}.json"
    config_path.write_text(json.dumps(config))
    open_clip.add_model_config(str(config_path))
    torch.manual_seed(seed)
    import logging
    logging.disable(logging.WARNING)     # "no pretrained weights loaded": we make them now
    try:
        model = open_clip.create_model(name)
    finally:
        logging.disable(logging.NOTSET)
    checkpoint = folder / f"{name}.pt"
    torch.save(model.state_dict(), checkpoint)
    return config_path, checkpoint
