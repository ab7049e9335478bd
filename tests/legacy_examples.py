"""The examples of LEGACY_FORMAT.md section 7 as strings (shared test data).

V1-V8 are valid configs, I1-I5 invalid ones; STRAWBERRIES is CLIPig's own example
(/work/shared/examples/strawberries.yaml, copied so the tests run anywhere)."""

V1 = """\
targets:
  - features:
      - text: a lighthouse in a storm
"""

V2 = """\
resolution: 320 240
epochs: 400
learnrate: 1.5
learnrate_scale: 1 - 0.9 * t3
init:
  mean: 0.45 0.4 0.35
  std: 0.08
targets:
  - name: main
    batch_size: 6              # honoured: noise / random_rotate set the random flag
    features:
      - text: an old brass compass on a wooden desk
    transforms:
      - noise: 0.05*ti         # expression without spaces -> broadcast to 3 channels
      - random_rotate:
          degree: -15 15
          center: 0.35 0.65
      - random_crop: 224
    constraints:
      - blur:
          kernel_size: 9
          end: 80%
      - saturation:
          below: 0.1           # NB: acts as "equal to 0.1" in the legacy engine
          weight: 5
postproc:
  - border:
      size: 2
      color: 0.1
    end: 0.5
"""

V3 = """\
epochs: 200
targets:
  - select: best
    batch_size: 4
    features:
      - text: a forest of glass trees
      - text: a frozen waterfall
        weight: 0.7
        start: 25%
      - text: text, letters, watermark
        weight: -0.3
    transforms:
      - random_shift: 0 1
      - noise: 0.03
"""

V4 = """\
epochs: 300
resolution:
  - 224 if t < 0.5 else 448
interpolation: linear
learnrate: 0.5 + 0.5 * ts(0.5, 0.6)
targets:
  - batch_size: 8
    features:
      - text: isometric city map, pixel art
    transforms:
      - random_shift: 0 1
      - random_scale:
          - 0.5 if t >= 0.5 else 1.0
          - 1.0
      - center_crop: 224
      - noise: 0.02
"""

V5 = """\
resolution: 256                # square: init.image + non-square crashes
init:
  image: photos/start.jpg
  mean: 0
  std: 1                       # keep the image's own values
targets:
  - select: mix
    features:
      - image: photos/style.png
        loss: l2               # mix uses the FIRST feature's loss function
      - text: watercolor painting
        weight: 0.5
    transforms:
      - random_rotate:
          degree: -5 5
      - center_crop: 224
"""

V6 = """\
resolution: 448 224
epochs: 250
targets:
  - name: left half
    features:
      - text: a sunny beach
    transforms:
      - crop: 0 0 224 224
  - name: right half
    start: 20%
    weight: 1.5 - sim / 100
    features:
      - text: a stormy sea
        weight: 1 if sim < 30 else 0.5
    transforms:
      - crop: 224 0 224 224
    constraints:
      - mean:
          above: 0.3
          weight: 0.5
"""

V7 = """\
epochs: 120
snapshot_interval: 10          # int -> every 10 epochs
optimizer: rmsprob             # legacy spelling (centered RMSprop)
postproc:
  - blur:
      kernel_size: 3
    start: 10                  # epochs 10..60
    end: 60
  - mean: 0.5
    end: 50%
  - quantize: 1/32             # constant expression -> 0.03125
    start: 0.9
targets:
  - features:
      - text: a mosaic of blue and orange tiles
    transforms:
      - random_shift: -0.5 0.5
    constraints:
      - normalize: {}
      - edge_mean:
          below: 0.05
          kernel_size: 5
"""

V8 = """\
epochs: 150
targets:
  - feature_scale: fair
    select: worst
    batch_size: 3
    features:
      - text: a red apple
      - text: a green pear
      - text: a yellow banana
    transforms:
      - pad:
          size: 16
          mode: wrap
      - random_crop: 224
      - bwnoise: 0.05
"""

I1 = """\
resolution: 224 * 2
"""

I2 = """\
targets:
  - features: [{text: a cat}]
    transforms:
      - noise: {std: 0.1}
      - blur: 5
"""

I3 = """\
learnrate: 0.01 * sim
"""

I4 = """\
postproc:
  - center_crop: 200
"""

I5 = """\
optimizer: rmsprop
targets:
  - select: first
    features: [{text: a cat}]
    constraints:
      - mean: {}
"""

STRAWBERRIES = """\
resolution: 512 512
epochs: 250

learnrate: 2.
learnrate_scale: 1. - .95 * t5

init:
  mean: .4
  std: 0.05

targets:

  - name: random sampler

    # this is faster than running 1000 epochs
    # and probably has some other effects on pixel-learning
    batch_size: 5

    transforms:
      # randomly move the image around
      - random_shift: -1 1
      # randomly rotate between -10 and +10 degrees
      - random_rotate:
          degree: -10 10
          center: 0 1
      # randomly zoom in
      - random_scale: 0.5 1.
      # take the image center and present it to CLIP
      - center_crop: 224

    constraints:
      # back-prop the blur into the transformated window
      - blur:
          kernel_size: 5

    select: all
    features:
      - text: strawberries lying on the grass
      # - text: a straw basket filled with strawberries standing on the grass
"""

VALID = {"V1": V1, "V2": V2, "V3": V3, "V4": V4, "V5": V5, "V6": V6, "V7": V7, "V8": V8, "strawberries": STRAWBERRIES}

INVALID = {"I1": I1, "I2": I2, "I3": I3, "I4": I4, "I5": I5}
