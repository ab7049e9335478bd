"""The largest sizes a param may declare, shared by the node library and plugins.

Each bound is what a current accelerator could still hold for one run (an H200 has
141 GB); anything larger is a typo or an attack, refused at validation instead of
failing mid-run. The memory estimate (engine/memory.py) checks what the combination
of sizes needs on the device at hand.
"""

# An image side in pixels: a 16384 x 16384 RGB float32 image is 3.2 GB, its Adam state
# twice that, and 16384 is the largest texture side GPUs support.
MAX_SIDE = 16384

# Pixels added on each side by `pad`: twice this is one MAX_SIDE.
MAX_PAD = MAX_SIDE // 2

# Gaussian kernel taps per axis. The default sigma of a 1023-tap kernel is about 150 px;
# wider blurs are better made by resizing, and the reflect padding (k - 1 per axis) then
# stays small against the image.
MAX_KERNEL = 1023

# Tiles per axis of `repeat`: 64 x 224 px is already a 14336 px side.
MAX_REPEAT = 64

# Views per target and epoch: 4096 views of 224 x 224 through ViT-B/32, forward and
# backward, fill most of an H200; larger batches are made with more targets or epochs.
MAX_BATCH = 4096

# Optimizer steps of one run (about four months at one step per second).
MAX_EPOCHS = 10_000_000

# quantize: a step above this maps any image to one value.
MAX_QUANTIZE_STEP = 256.0

# learnrate and learnrate_scale, each: a million times the base rate already moves every
# pixel across its whole range in one step, and the product of both (times the largest base
# rate, 20) stays far inside float32, which the optimizers compute in.
LEARNRATE_LIMIT = 1e6
