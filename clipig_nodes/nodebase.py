"""Base classes for the node library, and the contract between node types and the engine.

What every stage, transform, feature and constraint has in common is declared once here
instead of in each node type. `CONTRACT` names, per category, the methods the engine's
executor calls; the registry refuses a type that lacks one when its module loads, so a
missing method is an error naming the file, never a failure in the middle of a run.

The executor calls them with `p`, an `engine.params.StageParams` (p.value(name): one host
value; p.tensor(name): [B] or [B, n] on the device; p.rand/randn/uniform: the run's device
generator; p.B, p.device). Torch is imported inside the methods, so declarations stay cheap.

  source      init(p, generator, base_dir) -> {name: tensor}   trainable state, on the CPU
              render(state, p) -> [1,3,H,W]                    differentiable; clamped to [0,1]
                                                               by the engine for views and output
              resample(state, size, p) -> state                a new resolution [w, h], same image
              write(state, image, p)                           (no grad) make render() == image:
                                                               post-processing edits the image
              lr_factors(p) -> {name: float}                   optional, default 1 for each
  model       load(p, device) -> model                          .key, .input_size, .embed_dim,
                                                               encode_views, encode_text,
                                                               encode_image_file
  transform   apply(x, p) -> x'                                 IMAGE [B,3,H,W] -> IMAGE; may change
                                                               B (several views per image)
  feature     encode(model, p, base_dir) -> [D]                 normalised embedding, encoded once
  constraint  loss(views, p, ell) -> [B]                        ell = loss_function(p.value("loss"))
  target      loss(t) -> (loss [B], stats)                      t: engine.executor.TargetCall
              setup(t, image)                                  optional, when features are encoded
"""

from __future__ import annotations

from .registry import (CONSTRAINT, CONSTRAINT_CAT, FEATURE, FEATURE_CAT, IMAGE, MODEL, MODEL_CAT,
                       SINK, SOURCE, TARGET_CAT, TRANSFORM, TRLC, TRLF, Bool, Enum, Float,
                       NodeType, Socket, Time)

CONTRACT = {
    SOURCE: ("init", "render", "resample", "write"),
    MODEL_CAT: ("load",),
    TRANSFORM: ("apply",),
    FEATURE_CAT: ("encode",),
    CONSTRAINT_CAT: ("loss",),
    TARGET_CAT: ("loss",),
    SINK: (),
}

ACTIVE = Bool("active", True, "When off, the node is skipped as if it were not there.")
START = Time("start", 0.0, "First epoch the node works in: an int is an epoch, a float a ratio "
                           "of the run (0.0 = first epoch, 1.0 = last), '30%' a percentage.")
END = Time("end", 1.0, "Last epoch the node works in (inclusive); same units as start.")
SCHEDULE = (ACTIVE, START, END)

# Every stage of a run can be switched off and scheduled.
STAGE_PARAMS = SCHEDULE

LOSS_ALIASES = {"mae": "l1", "mse": "l2"}


class Stage(NodeType):
    shared_params = STAGE_PARAMS


class Source(NodeType):
    """Base of the pixel sources: the trainable image, whatever its parameterisation."""

    category = SOURCE
    outputs = (Socket("image", IMAGE, doc="The rendered image, [1,3,H,W] in [0,1]."),)

    @staticmethod
    def lr_factors(p) -> dict:
        return {}

    @staticmethod
    def init_size(p):
        """[width, height] of the largest image init makes on its way to the resolution
        (noise drawn at another size, say), for the memory check; None: the resolution."""
        return None


class Model(NodeType):
    """Base of the CLIP models: features and targets linked to one use it."""

    category = MODEL_CAT
    outputs = (Socket("model", MODEL, doc="The model, for features."),)


class Transform(Stage):
    """Base of the 26 transforms: an IMAGE in, an IMAGE out."""

    category = TRANSFORM
    inputs = (Socket("image", IMAGE, doc="Images to transform."),)
    outputs = (Socket("image", IMAGE, doc="The transformed images."),)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # transforms keep CLIPig's names; one that sets legacy_name = None has no CLIPig twin
        if cls.name and "legacy_name" not in cls.__dict__:
            cls.legacy_name = cls.name


class Feature(Stage):
    """Base of the CLIP features a target pulls its views toward (or pushes away from)."""

    category = FEATURE_CAT
    inputs = (Socket("model", MODEL, required=False,
                     doc="The CLIP model that encodes this feature and judges the views "
                         "(unset: the train node's model)."),)
    outputs = (Socket("feature", FEATURE, doc="The feature, for a Target's features input."),)
    shared_params = (
        Float("weight", 1.0, "Loss weight; negative pushes the image away from this feature.",
              groups=TRLF),
        Float("scale", 1.0, "Multiplies this feature's similarity (for select, sim and stats), "
                            "never the loss.", groups=TRLF),
        Enum("loss", ("cosine", "l1", "l2"), "cosine",
             "cosine: 1 - cos(view, feature); l1/mae and l2/mse: 100 x mean error.",
             aliases=LOSS_ALIASES),
        *STAGE_PARAMS,
    )


class Constraint(Stage):
    """Base of the non-CLIP losses on a target's view (what CLIP sees)."""

    category = CONSTRAINT_CAT
    outputs = (Socket("constraint", CONSTRAINT, doc="The loss, for a Target's constraints input."),)
    shared_params = (
        Float("weight", 1.0, "Loss multiplier.", groups=TRLC),
        Enum("loss", ("l2", "l1"), "l2", "l2/mse: mean squared error; l1/mae: mean absolute error.",
             aliases=LOSS_ALIASES),
        *STAGE_PARAMS,
    )

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name and cls.legacy_name is None:
            cls.legacy_name = cls.name.removesuffix("_constraint")

    @staticmethod
    def loss_function(name):
        """ell(a, b) -> [B] for the `loss` param: l1 (mae) is the mean absolute error, l2
        (mse) the mean squared error, each over all but the batch dimension."""
        if name in ("l1", "mae"):
            return lambda a, b: (a - b).abs().flatten(1).mean(dim=1)
        if name in ("l2", "mse"):
            return lambda a, b: ((a - b) ** 2).flatten(1).mean(dim=1)
        raise ValueError(f"unknown constraint loss '{name}' (l1 or l2)")
