"""`run FILE... -o OUT`: train a graph (graph file, PNG with a graph, or legacy YAML
configs merged as CLIPig does) and write the image, never over an existing file."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ..limits import MAX_EPOCHS
from .report import print_problems

MAX_SEED = 2**63 - 1    # torch's generators take 64-bit seeds; the Train node's seed agrees


def bounded_int(low: int, high: int):
    """An argparse type: an int in [low, high], else a usage error that says the range."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip()) if len(text) <= 40 else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high:,}, got {text[:40]!r}")
        return value
    return parse


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="graph file, PNG with an embedded graph, or legacy YAML (merged)")
    parser.add_argument("-o", "--output", help="image file or folder (ending in /); default: "
                                               "the Train node's output")
    parser.add_argument("--model", help="CLIP model name or checkpoint path")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=bounded_int(0, MAX_EPOCHS), help="number of epochs")
    parser.add_argument("--seed", type=bounded_int(0, MAX_SEED),
                        help="random seed from 0 to 2**63 - 1 (same seed, same device: same image)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16 runs CLIP under autocast; the pixels stay fp32")
    parser.add_argument("--compile", action="store_true", help="torch.compile the CLIP encoder")
    parser.add_argument("--cuda-graph", choices=("auto", "off"), default="auto",
                        help="CUDA: capture the training step as a CUDA graph (auto) or not")
    parser.add_argument("--fast-kernels", action="store_true",
                        help="CUDA: allow non-deterministic kernels (faster; the same seed may "
                             "then give a slightly different image)")
    parser.add_argument("--video", metavar="FILE.mp4",
                        help="also write the optimisation as a video (never over a file)")
    parser.add_argument("--video-every", type=int, default=1, metavar="N",
                        help="one video frame every N epochs (default 1)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="set one of the graph's inputs (e.g. prompt=\"a lighthouse\", "
                             "size=\"768 512\"); checked against the bound param")
    parser.add_argument("-v", "--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0 quiet, 1 progress bar, 2 also the statistics table")


def run(args) -> int:
    from ..documents import load_document
    from .output_param import is_output_problem, load_tolerating_output

    # with -o, the file's own output place is not used: a refused one does not stop the run
    loaded = load_tolerating_output(args.files) if args.output else load_document(args.files)
    label = " + ".join(args.files)
    if not loaded.ok:
        print_problems(loaded.problems, label)
        print(f"{label}: not run", file=sys.stderr)
        return 1
    if args.set:
        from ..graph.inputs import parse_assignments, with_inputs
        from ..problems import ProblemsError
        try:
            loaded.graph = with_inputs(loaded.graph, parse_assignments(args.set))
        except ProblemsError as exc:
            print_problems(exc.problems, label)
            print(f"{label}: not run", file=sys.stderr)
            return 1
    # every problem found before torch loads: missing files, invalid params, ...
    from ..graph.validate import validate
    problems = validate(loaded.graph, check_files=True, base_dir=Path(args.files[-1]).parent,
                        epochs=args.epochs)
    if args.output:       # -o decides where the image goes: the file's own place is not used
        problems = [p for p in problems if not is_output_problem(loaded.graph, p)]
    if any(p.is_error for p in problems):
        print_problems(problems, label)
        print(f"{label}: not run", file=sys.stderr)
        return 1
    if args.verbose >= 2:
        print_problems([p for p in loaded.problems if not p.is_error], label)
    video = _open_video(args)
    if video is False:
        return 1

    # torch loads only now that the input is known to be good
    from ..engine import EngineError, Run, RunOptions
    from ..engine.stats import format_table
    from ..problems import ProblemsError

    options = RunOptions(device=args.device, model=args.model, epochs=args.epochs,
                         seed=args.seed, precision=args.precision, compile=args.compile,
                         deterministic=not args.fast_kernels, cuda_graph=args.cuda_graph)
    interrupts = Interrupts()
    previous = signal.signal(signal.SIGINT, interrupts)
    try:
        job = Run(loaded.graph, options, output=args.output, source=Path(args.files[-1]))
        interrupts.job = job       # from now on Ctrl-C stops the run, which saves, once
        return _train(job, args.verbose, format_table, interrupts, video)
    except ProblemsError as exc:
        print_problems(exc.problems, label)
        return 1
    except EngineError as exc:
        print(f"{label}: {exc}", file=sys.stderr)
        return 1
    finally:
        # After a Ctrl-C the process is on its way out: more of them are ignored (Python
        # restores the default handler while it shuts down, and a late signal would then
        # kill the process by signal instead of exiting 130). Else the caller's handler.
        signal.signal(signal.SIGINT, signal.SIG_IGN if interrupts.count else previous)
        if video:
            _close_video(video)


def _open_video(args):
    """The recorder for --video (None without it; False after printing why it cannot be)."""
    if args.video is None:
        return None
    if args.video_every < 1:
        print("--video-every must be >= 1", file=sys.stderr)
        return False
    from ..video import VideoError, VideoRecorder
    try:
        return VideoRecorder(args.video, every=args.video_every)
    except VideoError as exc:
        print(f"--video: {exc}", file=sys.stderr)
        return False


def _record(video, event, trainer) -> None:
    """Every N epochs a host copy of the image, between steps, becomes a frame (and the final
    image); a failure ends only the recording, not the run."""
    from ..video import VideoError
    final = event.kind in ("done", "stopped")
    if video.failed or event.epoch == video.last_epoch:
        return      # (the final event repeats the last epoch's image)
    if final:
        image = event.image
    elif event.epoch % video.every == 0:
        image = trainer.image().cpu()
    else:
        return
    if image is None:
        return
    video.last_epoch = event.epoch
    try:
        video.add(image)
    except VideoError as exc:
        video.failed = True
        print(f"--video: {exc}; recording stopped, training goes on", file=sys.stderr)


def _close_video(video) -> None:
    from ..video import VideoError
    try:
        path = video.close()
        if path is not None:
            print(f"video: {path} ({video.frames} frames)", file=sys.stderr)
    except VideoError as exc:
        print(f"--video: {exc}", file=sys.stderr)


class Interrupts:
    """The SIGINT handler of `run`. Before training, the first Ctrl-C interrupts (nothing
    trained, nothing to save) and later ones are ignored while that unwinds. Once a run
    exists, every Ctrl-C only asks it to stop: the run ends after the current epoch and
    saves once, however many signals come and whenever (even during a write), so no
    KeyboardInterrupt ever lands inside a file write or the final save."""

    def __init__(self):
        self.job = None
        self.count = 0

    def __call__(self, signum, frame):
        self.count += 1
        if self.job is not None:
            self.job.stop()
        elif self.count == 1:
            raise KeyboardInterrupt


def _train(job, verbose: int, format_table, interrupts, video=None) -> int:
    from tqdm import tqdm

    trainer = job.trainer
    total = max(0, trainer.epochs - trainer.start_epoch)
    if verbose >= 2:
        print(f"training on {trainer.device}, seed {trainer.seed}, CLIP input "
              f"{trainer.clip.input_size}px, output {job.wanted_output}", file=sys.stderr)
    bar = tqdm(total=total, file=sys.stderr, disable=verbose < 1, unit="epoch", dynamic_ncols=True)
    final = None
    for event in job.events():        # to the end: the generator finishes its own writes
        if video:
            _record(video, event, trainer)
        if event.kind in ("done", "stopped"):
            final = event
            continue
        bar.update(1)
        if event.loss is not None:
            bar.set_postfix(loss=f"{event.loss:.4f}", lr=f"{event.learnrate:.4g}")
        if verbose >= 2 and event.stats:
            bar.write(f"--- epoch {event.epoch} / {event.epochs} ---\n"
                      + format_table(event.stats))
    bar.close()
    table = format_table(final.stats or [])
    if verbose >= 2 and table:
        print(table, file=sys.stderr)
    result = job.result
    if result.output:
        where = f"{result.output}" + (f" (+ {result.sidecar.name})" if result.sidecar else "")
    else:
        where = "nothing written"
    if result.stopped or interrupts.count:
        print(f"stopped after {result.epochs} epochs; saved {where}", file=sys.stderr)
        return 130
    if verbose >= 1:
        print(f"{result.epochs} epochs in {result.runtime:.1f} s; wrote {where}", file=sys.stderr)
    return 0
