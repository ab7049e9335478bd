"""The quality benchmark (`main.py bench --quality`): sources and cutouts compared on
the toy world, scored by a held-out toy CLIP.

Every setting (a source type, with or without cutouts) runs the same prompts with the
same seeds and the same epoch budget, guided by the toy CLIP trained with seed 0. A
second toy CLIP, trained with seed 1 and never used for guidance, scores the images
(the probability of the asked caption among the world's 168). Per setting:
  score     - held-out score of the final images, mean over prompts, median over seeds;
  epochs    - epochs until the mean score first reaches the `pixels` setting's final
              mean score of the same seed (checked every `every` epochs), median over
              seeds; '>N' when it never does;
  hf        - share of spectral energy above half the Nyquist frequency (judge.py),
              mean over prompts, median over seeds;
  in role   - prompts whose image has each colour in its asked role (judge.py), median
              over seeds, of the number of prompts.
Runs use one CPU thread (the figures then do not depend on the machine's core count).
"""

from __future__ import annotations

import functools
import statistics
import time
from dataclasses import dataclass, field

import torch

from .guide import Judge, toy_graph
from .judge import high_frequency_share, judge
from .scenes import Scene
from .train import cached_model

# Ten prompts over every shape and colour, each colour at least once in each role.
PROMPTS = (
    Scene("square", "red", "yellow"),
    Scene("circle", "blue", "white"),
    Scene("triangle", "green", "purple"),
    Scene("circle", "yellow", "black"),
    Scene("square", "cyan", "red"),
    Scene("triangle", "white", "blue"),
    Scene("circle", "purple", "green"),
    Scene("square", "black", "cyan"),
    Scene("triangle", "yellow", "red"),
    Scene("circle", "white", "purple"),
)


EVERY = 10                      # epochs between held-out scores of a run
GUIDE_SEED, HELD_OUT_SEED = 0, 1


@functools.lru_cache(maxsize=None)
def _guide(seed: int):
    """A guiding toy CLIP's path, found (or trained) once per process, not once per run."""
    return cached_model(seed)


@dataclass(frozen=True)
class Setting:
    name: str
    source: str
    cutouts: bool = False
    learnrate: float = 1.0
    source_params: tuple = ()
    train_params: tuple = ()         # e.g. (("learnrate_scale", "1 - t"),): a schedule
    cutout_params: tuple = ()        # over toy_graph's cutouts params
    more_guides: tuple = ()          # seeds of more toy CLIPs guiding with seed 0's (an ensemble)

    def __post_init__(self):
        if HELD_OUT_SEED in self.more_guides:
            raise ValueError("the held-out toy CLIP never guides a run")

    def graph(self, scene, model, epochs, seed, resolution):
        return toy_graph(scene, model, source=self.source, cutouts=self.cutouts,
                         resolution=resolution, epochs=epochs, learnrate=self.learnrate,
                         seed=seed, source_params=dict(self.source_params),
                         train_params=dict(self.train_params),
                         cutout_params=dict(self.cutout_params),
                         ensemble=tuple(_guide(s) for s in self.more_guides))


# Each source at the learning rate and params that did best in short sweeps (docs/quality.md):
# pixels at 10 (of 3 and 10); Fourier at 3 with decay 1.5, plain RGB (the toy world's colours
# are the RGB cube's corners, which ImageNet's decorrelated colour reaches slowly) and a small
# initial spectrum (of rates 1-50, decays 1-2.5, with and without decorrelation); pyramid at
# 10. Cutouts keep their source's settings. The ensembles add the toy CLIP of seed 2 to the
# guide (seed 1 stays held out).
FOURIER = (("decay", 1.5), ("decorrelate", False), ("init_noise", 0.001))
HALVING = (("learnrate_scale", "1 - t/2"),)
SETTINGS = (
    Setting("pixels", "pixels", learnrate=10),
    Setting("pixels + cutouts", "pixels", cutouts=True, learnrate=10),
    Setting("fourier", "fourier_pixels", learnrate=3, source_params=FOURIER),
    Setting("fourier + cutouts", "fourier_pixels", cutouts=True, learnrate=3,
            source_params=FOURIER),
    Setting("pyramid", "pyramid_pixels", learnrate=10),
    Setting("pyramid + cutouts", "pyramid_pixels", cutouts=True, learnrate=10),
    Setting("pixels + ensemble", "pixels", learnrate=10, more_guides=(2,)),
    Setting("fourier + cutouts + ensemble", "fourier_pixels", cutouts=True, learnrate=3,
            source_params=FOURIER, train_params=HALVING, more_guides=(2,)),
)


@dataclass
class RunScore:
    curve: list[float]          # held-out score after `every`, 2 `every`, ... epochs and at the end
    in_role: bool
    colour_share: float
    hf: float
    image: torch.Tensor | None = None    # the final image, [3,H,W] uint8, for the grid


@dataclass
class SettingResult:
    setting: Setting
    runs: dict = field(default_factory=dict)     # (seed, prompt index) -> RunScore

    def seeds(self):
        return sorted({seed for seed, _ in self.runs})

    def mean_curve(self, seed) -> list[float]:
        curves = [r.curve for (s, _), r in self.runs.items() if s == seed]
        return [statistics.fmean(values) for values in zip(*curves)]

    def final_score(self, seed) -> float:
        return self.mean_curve(seed)[-1]

    def hf(self, seed) -> float:
        return statistics.fmean(r.hf for (s, _), r in self.runs.items() if s == seed)

    def in_role(self, seed) -> int:
        return sum(r.in_role for (s, _), r in self.runs.items() if s == seed)


def run_one(setting, scene, model, judge_model: Judge, epochs, seed, resolution, every):
    from ..engine import Run, RunOptions

    run = Run(setting.graph(scene, model, epochs, seed, resolution),
              RunOptions(device="cpu"), save=False, image_every=every)
    # by epoch: the last epoch's image may come twice (its epoch event and the done event)
    images = {event.epoch: event.image for event in run.events() if event.image is not None}
    final = run.trainer.image().detach().cpu()
    images[epochs] = final                        # the final image is always scored
    images = [images[epoch] for epoch in sorted(images)]
    scores = judge_model.score(torch.cat([i.float() for i in images]), scene).tolist()
    verdict = judge(final, scene)
    return RunScore(scores, verdict.in_role, verdict.colour_share, high_frequency_share(final),
                    final[0].float().clamp(0, 1).mul(255).round().to(torch.uint8))


def benchmark(settings=SETTINGS, prompts=PROMPTS, seeds=(0, 1, 2), epochs=100, every=EVERY,
              resolution=64, log=None) -> list[SettingResult]:
    guide = cached_model(GUIDE_SEED, log=log)
    held_out = Judge(cached_model(HELD_OUT_SEED, log=log))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = []
        for setting in settings:
            result = SettingResult(setting)
            start = time.monotonic()
            for seed in seeds:
                for i, scene in enumerate(prompts):
                    result.runs[seed, i] = run_one(setting, scene, guide, held_out, epochs,
                                                   seed, resolution, every)
            if log:
                log(f"{setting.name}: {time.monotonic() - start:.0f}s")
            results.append(result)
        return results
    finally:
        torch.set_num_threads(threads)


def epochs_to_reach(curve, goal, every, epochs) -> int | None:
    """Epochs until the curve (scores after every, 2 every, ..., the end) reaches goal."""
    for k, value in enumerate(curve):
        if value >= goal:
            return min((k + 1) * every, epochs)
    return None


def report(results: list[SettingResult], epochs: int, every: int) -> str:
    baseline = next((r for r in results if r.setting.name == "pixels"), None)
    n_prompts = len({i for _, i in results[0].runs})
    lines = [f"{'setting':<30} {'score':>6} {'epochs':>7} {'hf':>6} {'in role':>8}"]
    for result in results:
        seeds = result.seeds()
        score = statistics.median(result.final_score(s) for s in seeds)
        reach = "-"
        if baseline is not None:
            reached = [epochs_to_reach(result.mean_curve(s), baseline.final_score(s), every, epochs)
                       for s in seeds]
            big = epochs + 1                       # 'never' sorts after every epoch count
            median = statistics.median_low([r if r is not None else big for r in reached])
            reach = f">{epochs}" if median == big else str(median)
        hf = statistics.median(result.hf(s) for s in seeds)
        role = statistics.median_low(result.in_role(s) for s in seeds)
        lines.append(f"{result.setting.name:<30} {score:6.3f} {reach:>7} {hf:6.3f} "
                     f"{role:>5}/{n_prompts}")
    return "\n".join(lines)


LABEL_WIDTH = 220               # pixels left of each grid row for the setting's name


def grid(results: list[SettingResult], seed: int, scale: int = 2):
    """A PIL image of the final images of one seed: a row per setting (named on the left),
    a column per prompt in PROMPTS order, each image `scale` times its size."""
    from PIL import Image, ImageDraw

    rows = [[r.image for (s, _), r in sorted(result.runs.items()) if s == seed]
            for result in results]
    side = rows[0][0].shape[-1] * scale
    sheet = Image.new("RGB", (LABEL_WIDTH + side * max(map(len, rows)), side * len(rows)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    for y, (result, images) in enumerate(zip(results, rows)):
        draw.text((6, y * side + side // 2 - 6), result.setting.name, fill="black")
        for x, image in enumerate(images):
            tile = Image.fromarray(image.permute(1, 2, 0).numpy()).resize((side, side),
                                                                         Image.NEAREST)
            sheet.paste(tile, (LABEL_WIDTH + x * side, y * side))
    return sheet
