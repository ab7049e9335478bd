"""CLIP features: what a target pulls its views toward (or, with a negative weight, away)."""

from pathlib import Path

from clipig_nodes.nodebase import Feature
from clipig_nodes.registry import FilePath, Text


class TextFeature(Feature):
    """A text prompt, encoded by CLIP (at most 77 tokens)."""

    name = "text_feature"
    params = (Text("text", None, "The prompt.", required=True),)

    @staticmethod
    def encode(clip, p, base_dir=None):
        """-> normalised embedding [D] (encoded once, cached by model and text)."""
        return clip.encode_text(p.value("text"))


class ImageFeature(Feature):
    """An image, encoded by CLIP (shorter side resized to the model's input, center-cropped)."""

    name = "image_feature"
    params = (FilePath("image", None, "Image file.", required=True),)

    @staticmethod
    def encode(clip, p, base_dir=None):
        """-> normalised embedding [D] (encoded once, cached by model, file and its mtime)."""
        path = Path(p.value("image")).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        return clip.encode_image_file(path)
