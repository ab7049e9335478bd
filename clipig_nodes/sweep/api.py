"""`sweep(...)`: one graph, many input values, one image each, with an index and resume.

The driver (this module) alone writes OUT: each finished job's PNG (atomically, carrying its
graph and its index entry), then the index, then at the end the contact sheet. Runners only
train and hand results back: the local runner in this process, the Ray runner on a cluster.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..graph.model import Graph
from ..problems import Problem, ProblemsError
from .grid import Job, describe, expand, parse_grid
from .index import DONE, FAILED, PENDING, Entry, SweepIndex
from .jobs import JobOptions, JobResult

ENTRY_CHUNK = "clipig-nodes-sweep-job"       # PNG text chunk: the job's index entry as JSON


@dataclass
class SweepJob:
    """A job of a finished (or interrupted) sweep, as the notebook sees it."""

    name: str
    inputs: dict[str, Any]
    status: str
    seed: int | None
    path: Path | None                    # the image file, when done
    loss: float | None = None
    error: str | None = None
    skipped: bool = False                # done by an earlier run of the same sweep

    @property
    def image(self):
        """The image as a PIL image (None unless done)."""
        if self.path is None:
            return None
        from PIL import Image
        with Image.open(self.path) as image:
            return image.convert("RGB")


@dataclass
class SweepResult:
    out: Path
    jobs: list[SweepJob] = field(default_factory=list)
    contact_sheet: Path | None = None
    interrupted: bool = False

    @property
    def images(self) -> list:
        return [job.image for job in self.jobs if job.status == DONE]

    @property
    def failed(self) -> list[SweepJob]:
        return [job for job in self.jobs if job.status == FAILED]


class Progress:
    """What a sweep reports as it goes; the CLI draws bars, a notebook may print."""

    def start(self, total: int, skipped: int, epochs_per_job: int | None) -> None: ...

    def epoch(self, job: Job, epoch: int, epochs: int) -> None: ...

    def finished(self, job: Job, entry: Entry) -> None: ...

    def close(self) -> None: ...


def sweep(graph, out, grid: Mapping[str, Iterable] | Iterable[str] | None = None, *,
          zip: bool = False, set: Mapping[str, Any] | None = None, ray: str | None = None,
          device: str | None = None, model: str | None = None, epochs: int | None = None,
          precision: str = "fp32", seed: int = 0, batch: str | int | None = None,
          progress: Progress | None = None, contact_sheet: bool = True,
          ray_cpus: float = 1, ray_gpus: float | None = None) -> SweepResult:
    """Render `graph` (a Graph or a graph file) once per combination of `grid` values into OUT.

    grid: {"prompt": ["a cat", "a dog"], "seed": range(1, 5)} or the CLI's strings
    (["prompt=@prompts.txt", "seed=1..8"]). zip: n-th values together instead of every
    combination. set: values for every job. ray: None (this process), "auto" (a running
    cluster, else a local one), "local", or a cluster address. A job without a seed gets `seed`.
    Jobs already done in OUT (same graph, values and settings) are skipped. Raises
    ProblemsError before anything runs when the graph or a value is bad.
    """
    graph, base_dir, source = _load(graph)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ProblemsError([Problem("is a file; a sweep writes into a folder", source=str(out))],
                            "bad sweep")
    if grid is None:
        grid = {}
    elif not isinstance(grid, Mapping):
        grid = parse_grid(list(grid), base_dir=Path.cwd())
    grid = {name: list(values) for name, values in grid.items()}
    options = JobOptions(device=device, model=model, epochs=epochs, precision=precision,
                         base_dir=str(base_dir) if base_dir else None)
    if epochs is not None and epochs < 0:
        raise ProblemsError([Problem("epochs must be >= 0")], "bad sweep")
    if batch not in (None, "", "auto") and not (str(batch).isdigit() and int(batch) >= 1):
        raise ProblemsError([Problem(f"batch is a whole number >= 1 or auto, got {batch!r}")],
                            "bad sweep")
    jobs = expand(graph, grid, zip_values=zip, fixed=set, default_seed=seed, salt=options.salt())
    _validate(jobs, base_dir)
    runner = _runner(ray, options, batch, ray_cpus, ray_gpus)      # says now if Ray is missing

    index = SweepIndex.open(out)
    index.info = {"graph": str(source) if source else None, "grid": _plain_grid(grid),
                  "zip": bool(zip), "set": dict(set or {}), "seed": seed,
                  "options": {k: v for k, v in vars(options).items() if k != "base_dir"}}
    todo, skipped = _plan(index, jobs)
    index.save()
    progress = progress or Progress()
    progress.start(len(jobs), len(jobs) - len(todo), _epochs(jobs, epochs))
    by_key = {job.key: job for job in todo}
    interrupted = False
    try:
        for result in runner.results(todo, progress):
            job = by_key[result.key]
            if result.stopped:
                interrupted = True
                break
            entry = _record(index, job, result, options)
            progress.finished(job, entry)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    sheet = None
    if contact_sheet:
        from .contact import write_contact_sheet
        sheet = write_contact_sheet(index, [job.key for job in jobs])
    result = SweepResult(out, [_public(index, job, job.key in skipped) for job in jobs], sheet,
                         interrupted)
    if interrupted:
        raise SweepInterrupted(result)
    return result


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a stop) during a sweep; `result` has what was finished, all of it saved."""

    def __init__(self, result: SweepResult):
        super().__init__("sweep interrupted")
        self.result = result


# --- steps -----------------------------------------------------------------------------------------

def _load(graph) -> tuple[Graph, Path | None, Path | None]:
    if isinstance(graph, Graph):
        return graph, None, None
    from ..documents import load_document
    loaded = load_document(graph)
    if not loaded.ok:
        raise ProblemsError(loaded.problems, f"cannot load {graph}")
    path = Path(graph if not isinstance(graph, (list, tuple)) else graph[-1])
    return loaded.graph, path.parent, path


def _validate(jobs: list[Job], base_dir) -> None:
    """Every job's graph must be valid (a value may make a graph invalid: a missing photo)."""
    from ..graph.validate import validate

    problems: dict[str, Problem] = {}
    for job in jobs:
        for p in validate(job.graph, check_files=True, base_dir=base_dir):
            if p.is_error:
                problems.setdefault(str(p), p)
    if problems:
        raise ProblemsError(list(problems.values()), "cannot sweep this graph")


def _runner(ray, options, batch, ray_cpus, ray_gpus):
    if ray:
        from .ray_runner import RayRunner
        size = 1 if batch in (None, "", "auto") else max(1, int(batch))
        return RayRunner(options, ray, num_cpus=ray_cpus, num_gpus=ray_gpus, batch=size)
    from .local import LocalRunner
    return LocalRunner(options, batch)


def _plan(index: SweepIndex, jobs: list[Job]) -> tuple[list[Job], set[str]]:
    """Jobs still to run; the done ones are skipped, images left by a crash are adopted."""
    taken = index.taken_names()
    todo, skipped = [], set()
    for job in jobs:
        if index.is_done(job.key):
            skipped.add(job.key)
            continue
        old = index.entries.get(job.key)
        if old is not None and old.name:
            job.name = old.name
        elif job.name not in taken and _adopt(index, job):
            taken.add(job.name)
            skipped.add(job.key)
            continue
        else:
            job.name = _free_name(index.out, job.name, taken)
        taken.add(job.name)
        if _adopt(index, job):
            skipped.add(job.key)
            continue
        index.add(Entry(job.key, job.name, job.inputs, job.seed))
        todo.append(job)
    return todo, skipped


def _free_name(out: Path, stem: str, taken: set[str]) -> str:
    name, n = stem, 1
    while name in taken or (out / f"{name}.png").exists():
        n += 1
        name = f"{stem}-{n}"
    return name


def _adopt(index: SweepIndex, job: Job) -> bool:
    """A crash between writing a job's PNG and the index leaves the PNG: it carries the entry,
    so the job counts as done instead of being trained twice. (Under its name, or numbered
    when that name was taken by the time it was written.)"""
    from ..graph.pngmeta import numbered, read_png_text

    path, n = index.out / f"{job.name}.png", 0
    while os.path.lexists(numbered(path, n)):
        candidate, n = numbered(path, n), n + 1
        if not candidate.is_file():
            continue
        try:
            data = json.loads(read_png_text(candidate).get(ENTRY_CHUNK, "null"))
        except (OSError, ValueError, ProblemsError):
            continue
        if isinstance(data, dict) and data.get("key") == job.key and data.get("image") == candidate.name:
            try:
                index.entries[job.key] = Entry(**data)
            except TypeError:            # not an entry this version wrote: train the job again
                continue
            return True
    return False


def _record(index: SweepIndex, job: Job, result: JobResult, options: JobOptions) -> Entry:
    entry = Entry(job.key, job.name, job.inputs, result.seed if result.seed is not None else job.seed,
                  epochs=result.epochs, runtime=round(result.runtime, 3), loss=result.loss,
                  stats=result.stats, worker=result.worker)
    if result.error is not None or result.image is None:
        entry.status, entry.error = FAILED, result.error or "no image"
    else:
        from ..graph.pngmeta import encode_png, write_numbered

        # The PNG carries its entry, and so its own name: a name taken meanwhile (another
        # sweep into OUT) means new bytes. The name is claimed with the whole file, so an
        # interruption leaves the image or nothing, never an empty file that bumps the name.
        def png(path: Path) -> bytes:
            entry.image, entry.status = path.name, DONE
            return encode_png(result.image, job.graph, {ENTRY_CHUNK: json.dumps(vars(entry))})

        write_numbered(index.out / f"{job.name}.png", png)
    index.entries[job.key] = entry
    index.save()
    return entry


def _public(index: SweepIndex, job: Job, skipped: bool) -> SweepJob:
    entry = index.entries.get(job.key) or Entry(job.key, job.name, job.inputs, job.seed)
    path = index.out / entry.image if entry.status == DONE and entry.image else None
    return SweepJob(entry.name, job.inputs, entry.status, entry.seed, path, entry.loss,
                    entry.error, skipped)


def _epochs(jobs: list[Job], epochs: int | None) -> int | None:
    if epochs is not None or not jobs:
        return epochs
    from ..registry import default_registry
    train = next((n for n in jobs[0].graph if n.type == "train"), None)
    if train is None:
        return None
    value = train.params.get("epochs", default_registry()["train"].param("epochs").default)
    return value if isinstance(value, int) else None


def _plain_grid(grid: Mapping[str, list]) -> dict:
    return {k: [v if isinstance(v, (int, float, str)) or v is None else str(v) for v in values]
            for k, values in grid.items()}


__all__ = ["sweep", "SweepResult", "SweepJob", "SweepInterrupted", "Progress", "describe", "PENDING"]
