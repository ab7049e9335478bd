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


def with_tiny_models(path, folder):
    """`path`, or, when the graph names CLIP model nodes (whose real weights tests cannot
    download), a copy in `folder` with each model node pointed at a tiny random model of the
    same library: the graph's structure runs, on weights a test can have."""
    from pathlib import Path

    from clipig_nodes.graph.fileformat import load_graph, save_graph
    from .tiny_clip import build_tiny_clip

    graph = load_graph(path)
    models = [n for n in graph if n.type == "clip_model"]
    if not models:
        return path
    folder = Path(folder)
    openai_path = build_tiny_clip(folder / "tiny-clip-model-node.pt", seed=1)
    config, checkpoint = build_tiny_openclip(folder, embed_dim=32)
    for node in models:
        if node.params.get("library") == "openclip":
            graph.set_param(node.id, "name", str(config))
            graph.set_param(node.id, "pretrained", str(checkpoint))
        else:
            graph.set_param(node.id, "name", str(openai_path))
    copy = folder / Path(path).name
    save_graph(graph, copy)
    return copy
