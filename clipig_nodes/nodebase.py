"""Base classes for the node library: what every stage, transform, feature and
constraint has in common, declared once here instead of in each node type."""

from __future__ import annotations

from .registry import (CONSTRAINT, CONSTRAINT_CAT, FEATURE, FEATURE_CAT, IMAGE, MODEL, TRANSFORM,
                       TRLC, TRLF, Bool, Enum, Float, NodeType, Socket, Time)

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
                     doc="The CLIP model that encodes this feature and scores the views against "
                         "it; unlinked: the train node's model."),)
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
