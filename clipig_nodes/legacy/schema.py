"""Where each key of a CLIPig config goes in a graph (LEGACY_FORMAT.md sections 1-2).

Only the mapping lives here: legacy key -> (node type, param). Kinds, defaults
and expression groups come from the node declarations in the registry, so a
default is never restated. What is listed here are facts of the legacy tool
that the node library does not know (its spellings, its fixed postproc order,
which transforms carry its randomness flag).
"""

from __future__ import annotations

from ..registry import CONSTRAINT_CAT, TRANSFORM

PIXELS, TRAIN, TARGET = "pixels", "train", "target"
TEXT_FEATURE, IMAGE_FEATURE = "text_feature", "image_feature"

# top-level key -> (node type, param)
TOP_LEVEL = {
    "resolution": (PIXELS, "resolution"),
    "interpolation": (PIXELS, "interpolation"),
    "epochs": (TRAIN, "epochs"),
    "start_epoch": (TRAIN, "start_epoch"),
    "learnrate": (TRAIN, "learnrate"),
    "learnrate_scale": (TRAIN, "learnrate_scale"),
    "optimizer": (TRAIN, "optimizer"),
    "model": (TRAIN, "model"),
    "device": (TRAIN, "device"),
    "snapshot_interval": (TRAIN, "snapshot_interval"),
    "output": (TRAIN, "output"),
}
INIT = {
    "resolution": (PIXELS, "init_resolution"),
    "mean": (PIXELS, "init_mean"),
    "std": (PIXELS, "init_std"),
    "image": (PIXELS, "init_image"),
}
INIT_IGNORED = ("image_tensor",)     # raw pixels from CLIPig's GUI: not imported
# keys CLIPig reads from a file that are command-line matters: key -> what to say
CLI_ONLY = {
    "verbose": "verbose is a command-line option (-v) in clipig-nodes; ignored",
    "repeat": "repeat is not a config key (CLIPig's CLI adds it for --repeat); ignored",
}
LIST_KEYS = ("targets", "postproc")
TOP_KEYS = (*TOP_LEVEL, "init", *LIST_KEYS, *CLI_ONLY)

# target keys that are target-node params (same names), and its three lists
TARGET_PARAMS = ("name", "weight", "batch_size", "select", "feature_scale", "active", "start", "end")
TARGET_LISTS = ("features", "transforms", "constraints")
TARGET_KEYS = (*TARGET_PARAMS, *TARGET_LISTS)

FEATURE_PARAMS = ("weight", "scale", "loss", "start", "end")     # shared by both feature types
FEATURE_KEYS = ("text", "image", *FEATURE_PARAMS)
CONSTRAINT_COMMON = ("weight", "loss", "start", "end")          # CLIPig has no constraint `active`
SCHEDULE = ("active", "start", "end")
POSTPROC_ENTRY = SCHEDULE

SELECT_CHOICES = ("all", "best", "worst", "mix")
LEGACY_OPTIMIZERS = ("adam", "sgd", "sparse_adam", "adadelta", "rmsprob")
LEGACY_INTERPOLATIONS = ("nearest", "linear", "cubic")
PAD_MODES = ("fill", "edge", "wrap")
CONSTRAINT_LOSSES = ("l1", "mae", "l2", "mse")

# CLIPig runs the transforms of one postproc entry in this order, whatever the YAML order (2.6)
POSTPROC_ORDER = (
    "blur", "border", "noise", "bwnoise", "rnoise", "fnoise", "edge", "rotate", "random_rotate",
    "random_scale", "random_translate", "shift", "random_shift", "add", "mul", "mean", "clamp",
    "quantize", "saturation", "contrast",
)
# transforms that set CLIPig's randomness flag; only these make it honour batch_size (5.6)
CLIPIG_RANDOM_FLAG = frozenset({"noise", "bwnoise", "rnoise", "fnoise", "random_rotate"})
# CLIPig's exporter adds these to every transform/postproc entry (Appendix B); 1.0 is an identity
HIDDEN_IDENTITY = ("contrast", "saturation")


def transform_types(registry) -> dict:
    """Legacy transform name -> node type."""
    return {t.legacy_name: t for t in registry.by_category(TRANSFORM) if t.legacy_name}


def constraint_types(registry) -> dict:
    """Legacy constraint name (`blur`) -> node type (`blur_constraint`)."""
    return {t.legacy_name: t for t in registry.by_category(CONSTRAINT_CAT) if t.legacy_name}


def own_params(node_type) -> list:
    """The params a type declares itself: a transform's CLIPig sub-params, without the
    schedule every stage shares."""
    shared = {p.name for p in node_type.shared_params}
    return [p for p in node_type.param_list if p.name not in shared]


def constraint_params(node_type) -> list:
    """What a constraint takes in CLIPig: its own params plus weight/loss/start/end."""
    return [*own_params(node_type), *(node_type.param(n) for n in CONSTRAINT_COMMON
                                      if node_type.param(n) is not None)]


def postproc_rank(name: str) -> int:
    return POSTPROC_ORDER.index(name) if name in POSTPROC_ORDER else len(POSTPROC_ORDER)
