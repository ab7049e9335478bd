"""CLIP features: what a target pulls its views toward (or, with a negative weight, away)."""

from clipig_nodes.nodebase import Feature
from clipig_nodes.registry import FilePath, Text


class TextFeature(Feature):
    """A text prompt, encoded by CLIP (at most 77 tokens)."""

    name = "text_feature"
    params = (Text("text", None, "The prompt.", required=True),)


class ImageFeature(Feature):
    """An image, encoded by CLIP (shorter side resized to the model's input, center-cropped)."""

    name = "image_feature"
    params = (FilePath("image", None, "Image file.", required=True),)
