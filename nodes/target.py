"""The target: one view of the image, the features it should match and its constraints."""

from clipig_nodes.limits import MAX_BATCH
from clipig_nodes.nodebase import Stage
from clipig_nodes.registry import (CONSTRAINT, FEATURE, IMAGE, TARGET, TARGET_CAT, TRLC, Enum, Float,
                                   Int, Socket, Text)


class Target(Stage):
    """A batch of views of the image, scored by CLIP against features, plus constraints.

    The IMAGE input is the end of the target's transform chain: every sample of the
    batch runs the chain with its own random draws.
    """

    name = "target"
    category = TARGET_CAT
    inputs = (
        Socket("image", IMAGE, doc="The view CLIP sees (end of the transform chain)."),
        Socket("features", FEATURE, multi=True, required=False, doc="CLIP features, in order."),
        Socket("constraints", CONSTRAINT, multi=True, required=False, doc="Non-CLIP losses."),
    )
    outputs = (Socket("target", TARGET, doc="For the Train node's targets input."),)
    params = (
        Text("name", "target", "Name in the statistics."),
        Float("weight", 1.0, "Multiplies the target's whole loss (features and constraints).",
              groups=TRLC),
        Int("batch_size", 1, "Views per epoch, each with its own random transform draws.",
            minimum=1, maximum=MAX_BATCH),
        Enum("select", ("all", "best", "worst", "mix"), "all",
             "all: every feature; best/worst: only the most/least similar one per view; mix: "
             "one weighted mix of the features."),
        Enum("feature_scale", ("equal", "fair"), "equal",
             "fair: scale similarities so that features already close to the initial image "
             "do not dominate select and stats."),
    )
