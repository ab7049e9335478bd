"""CLIP model nodes: which model encodes a feature and scores the views against it."""

from clipig_nodes.nodebase import Model
from clipig_nodes.registry import Enum, Text


class ClipModelNode(Model):
    """A CLIP model for the features linked to it: OpenAI's CLIP or an OpenCLIP model.

    Link its model output to the model input of text and image features. Each model sees
    the views at its own input size and with its own normalisation; several model nodes in
    one graph form an ensemble (each feature is scored by its own model). Features without
    a link use the train node's model.

    openai: `name` is a model name the clip package knows (ViT-B/32, RN50, ...) or a
    checkpoint path. openclip (needs open-clip-torch): `name` is an architecture
    (ViT-B-32, convnext_base, ...) or a model config .json, and `pretrained` a tag
    (laion2b_s34b_b79k, ...) or a checkpoint path.
    """

    name = "clip_model"
    params = (
        Enum("library", ("openai", "openclip"), "openai",
             "openai: the clip package; openclip: open-clip-torch."),
        Text("name", "ViT-B/32", "openai: model name or checkpoint path; openclip: architecture "
                                 "(ViT-B-32) or model config .json."),
        Text("pretrained", None, "openclip only: pretrained tag (laion2b_s34b_b79k) or "
                                 "checkpoint path."),
    )

    @classmethod
    def check(cls, values):
        library, pretrained = values.get("library"), values.get("pretrained")
        if library == "openclip" and not pretrained:
            return [("pretrained", "an OpenCLIP model needs a pretrained tag or a checkpoint "
                                   "path")]
        if library == "openai" and pretrained:
            return [("pretrained", "only OpenCLIP models take `pretrained`; an OpenAI model is "
                                   "chosen by `name` alone")]
        if not str(values.get("name") or "").strip():
            return [("name", "must not be empty")]
        return []

    @staticmethod
    def load(p, device):
        """-> a model with key, input_size, embed_dim, encode_views, encode_text and
        encode_image_file; errors name this node."""
        from clipig_nodes.engine.errors import EngineError

        where = getattr(getattr(p, "stage", None), "id", None) or "clip_model"
        name = str(p.value("name")).strip()
        try:
            if p.value("library") == "openclip":
                from clipig_nodes.engine.openclip_model import load_openclip
                return load_openclip(name, p.value("pretrained"), device)
            from clipig_nodes.engine.clipmodel import load_clip
            return load_clip(name, device)
        except EngineError as exc:
            raise EngineError(f"{where}: {exc}") from None
