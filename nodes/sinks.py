"""Sinks: the Train node that runs the graph, and Preview nodes for the editor."""

import re

from clipig_nodes.limits import LEARNRATE_LIMIT, MAX_EPOCHS
from clipig_nodes.output_names import output_problem
from clipig_nodes.registry import (IMAGE, SINK, TARGET, TR, Enum, Float, Int, NodeType, Param,
                                   Socket, Text)

OPTIMIZERS = ("adam", "sgd", "sparse_adam", "adadelta", "rmsprob", "rmsprop")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


class Train(NodeType):
    """Runs the training: one optimizer step per epoch over all active targets.

    Its postproc input is the end of the post-processing chain (resolution-keeping
    transforms applied to the pixels themselves each epoch).
    """

    name = "train"
    category = SINK
    inputs = (
        Socket("targets", TARGET, multi=True, required=False, doc="The targets, in order."),
        Socket("postproc", IMAGE, required=False, doc="End of the post-processing chain."),
    )
    params = (
        Int("epochs", 300, "Number of epochs (optimizer steps).", minimum=0, maximum=MAX_EPOCHS),
        Int("start_epoch", 0, "First epoch index (to resume a run).", minimum=0,
            maximum=MAX_EPOCHS),
        # bounded so that base rate x learnrate x learnrate_scale stays a float32 number
        Float("learnrate", 1.0, "Multiplier on the optimizer's base rate.", groups=TR,
              minimum=-LEARNRATE_LIMIT, maximum=LEARNRATE_LIMIT),
        Float("learnrate_scale", 1.0, "Second multiplier, for schedules such as 1 - t.", groups=TR,
              minimum=-LEARNRATE_LIMIT, maximum=LEARNRATE_LIMIT),
        Enum("optimizer", OPTIMIZERS, "adam",
             "adam (base rate 0.01), sgd (10), sparse_adam (CLIPig: plain RMSprop, 0.01), "
             "adadelta (20), rmsprob (CLIPig's spelling: centered RMSprop, 0.003), rmsprop."),
        Text("model", "ViT-B/32", "CLIP model name (as the clip package knows it) or a checkpoint "
                                  "path."),
        Text("device", "auto", "auto (CUDA when present, else CPU), cpu, cuda or cuda:N."),
        Param("snapshot_interval", "number", 20.0, "Save the image every N epochs (int) or "
                                                   "N seconds (float); 0 = never.", minimum=0),
        Text("output", "./", "Output image file (.png), or a folder (ending in /), inside the "
                             "folder the run starts in; -o overrides it."),
        Int("seed", None, "Random seed; unset = a new one each run.", minimum=0,
            maximum=2**63 - 1),
    )

    @classmethod
    def check(cls, values):
        problems = []
        device = values.get("device")
        if isinstance(device, str) and not DEVICE_PATTERN.match(device.strip().lower()):
            problems.append(("device", f"'{device}' is not a device: use auto, cpu, cuda or cuda:N"))
        if not str(values.get("model") or "").strip():
            problems.append(("model", "must not be empty"))
        output = output_problem(values.get("output"))
        if output:        # a file someone sends must not choose where a run writes
            problems.append(("output", output))
        return problems


class Preview(NodeType):
    """Shows an IMAGE in the editor while training runs (e.g. what a chain makes of the pixels)."""

    name = "preview"
    category = SINK
    inputs = (Socket("image", IMAGE, doc="Images to show."),)
    params = (
        Text("name", "preview", "Title in the editor."),
        Int("every", 1, "Refresh every N epochs.", minimum=1, maximum=1_000_000),
    )
