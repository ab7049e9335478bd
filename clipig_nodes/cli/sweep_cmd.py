"""`sweep T.graph.yaml -o OUT --grid prompt=@prompts.txt seed=1..8 [--zip] [--ray auto|ADDRESS]`:
one image per combination of input values, an index, a contact sheet; a rerun resumes."""

from __future__ import annotations

import sys

from .report import print_problems


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (or PNG with a graph) with inputs")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="folder for the images, index.json/.csv and contact-sheet.png")
    parser.add_argument("--grid", nargs="+", default=[], metavar="NAME=VALUES",
                        help="values of an input: @FILE (one per line), A..B (whole numbers), "
                             "or one value; an input named again adds values")
    parser.add_argument("--zip", action="store_true",
                        help="the n-th values of every input together, instead of every combination")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an input value for every job")
    parser.add_argument("--batch", default="auto", metavar="N|auto",
                        help="jobs trained together on one device, one CLIP forward for all "
                             "(auto: as many as fit on CUDA, halved on out of memory; 1 on the CPU)")
    parser.add_argument("--ray", metavar="auto|local|ADDRESS",
                        help="run the jobs as Ray tasks: auto = the running cluster (else a local "
                             "one), local = a new local Ray, or the head's address")
    parser.add_argument("--ray-cpus", type=float, default=1, help="CPUs per Ray task (default 1)")
    parser.add_argument("--ray-gpus", type=float, help="GPUs per Ray task (default: 1 on CUDA, else 0)")
    parser.add_argument("--model", help="CLIP model name or checkpoint path")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    from ..limits import MAX_EPOCHS
    from .run_cmd import MAX_SEED, bounded_int
    parser.add_argument("--epochs", type=bounded_int(0, MAX_EPOCHS), help="epochs of every job")
    parser.add_argument("--seed", type=bounded_int(0, MAX_SEED), default=0,
                        help="seed of the jobs whose graph has none (default 0)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--no-contact-sheet", action="store_true")
    parser.add_argument("-v", "--verbose", type=int, choices=(0, 1), default=1,
                        help="0 quiet, 1 progress bars (jobs and epochs)")


def run(args) -> int:
    from ..graph.inputs import parse_assignments
    from ..problems import ProblemsError
    from ..sweep import SweepInterrupted, sweep
    from ..sweep.grid import parse_grid
    from ..sweep.ray_runner import RayMissing

    label = args.file
    try:
        grid = parse_grid(args.grid)
        fixed = parse_assignments(args.set)
        result = sweep(args.file, args.output, grid, zip=args.zip, set=fixed, ray=args.ray,
                       device=args.device, model=args.model, epochs=args.epochs,
                       precision=args.precision, seed=args.seed, batch=args.batch,
                       contact_sheet=not args.no_contact_sheet,
                       progress=BarProgress() if args.verbose else None,
                       ray_cpus=args.ray_cpus, ray_gpus=args.ray_gpus)
    except ProblemsError as exc:
        print_problems(exc.problems, label)
        print(f"{label}: nothing run", file=sys.stderr)
        return 1
    except RayMissing as exc:
        print(f"{label}: {exc}", file=sys.stderr)
        return 1
    except SweepInterrupted as exc:
        print(_summary(exc.result) + "; interrupted: run the same command again to finish",
              file=sys.stderr)
        return 130
    if args.verbose:
        print(_summary(result), file=sys.stderr)
    return 1 if result.failed else 0


def _summary(result) -> str:
    done = sum(job.status == "done" for job in result.jobs)
    skipped = sum(job.skipped for job in result.jobs)
    text = f"{done} of {len(result.jobs)} images in {result.out}"
    if skipped:
        text += f" ({skipped} from an earlier run)"
    for job in result.failed:
        text += f"\n  failed: {job.name}: {job.error}"
    return text


class BarProgress:
    """Two bars: jobs (with the current job's inputs), and epochs over the whole sweep."""

    def start(self, total, skipped, epochs_per_job):
        from tqdm import tqdm

        self.jobs = tqdm(total=total, initial=skipped, desc="jobs", unit="job", file=sys.stderr,
                         position=0, dynamic_ncols=True)
        left = total - skipped
        self.epochs = tqdm(total=left * epochs_per_job if epochs_per_job else None, desc="epochs",
                           unit="epoch", file=sys.stderr, position=1, dynamic_ncols=True)
        self._current = None

    def epoch(self, job, epoch, epochs):
        if job.key != self._current:
            self._current = job.key
            self.jobs.set_postfix_str(job.name[:40])
        self.epochs.update(1)

    def finished(self, job, entry):
        self.jobs.update(1)
        if entry.status != "done":
            self.jobs.write(f"failed: {job.name}: {entry.error}")
        if entry.epochs and self._current != job.key:      # epochs that came back from a worker
            self.epochs.update(entry.epochs)

    def close(self):
        self.epochs.close()
        self.jobs.close()
