"""A sweep's grid: input values from the command line or Python, expanded into jobs.

`--grid prompt=@prompts.txt seed=1..8 size="224 224"` gives, per input, a list of values:
- `@FILE`: one value per line (blank lines and lines starting with # are skipped);
- `A..B`: the whole numbers A to B, both included (`1..8`);
- anything else: that one value (so a prompt may hold commas); naming an input again
  adds values (`prompt="a cat" prompt="a dog"`).
Jobs are the product of the lists (every combination, the first input varying slowest),
or with zip the n-th values of every list together. Each value is checked against the
input's param before anything runs. Plain Python: no torch.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..graph.fileformat import dumps_graph
from ..graph.inputs import parse_input, with_inputs
from ..graph.model import Graph
from ..problems import Problem, ProblemsError

_RANGE = re.compile(r"^\s*([+-]?\d+)\s*\.\.\s*([+-]?\d+)\s*$")
MAX_JOBS = 100_000


@dataclass
class Job:
    """One image of a sweep: the input values that differ between jobs, its graph, and a key
    (a hash of everything that decides the image) that finds it again when a sweep resumes."""

    index: int
    inputs: dict[str, Any]            # the grid's values for this job, as plain data
    graph: Graph = field(repr=False)
    key: str = ""
    name: str = ""                    # output file stem, made from the inputs

    @property
    def seed(self) -> int | None:
        train = next((n for n in self.graph if n.type == "train"), None)
        return None if train is None else train.params.get("seed")


def parse_grid(specs, base_dir: str | Path | None = None) -> dict[str, list]:
    """['prompt=@p.txt', 'seed=1..8'] -> {'prompt': [...], 'seed': [1, ..., 8]} (see module doc).
    Raises ProblemsError naming the spec."""
    grid: dict[str, list] = {}
    problems = []
    for spec in specs or ():
        name, eq, text = str(spec).partition("=")
        name = name.strip()
        if not eq or not name:
            problems.append(Problem(f"--grid {spec!r}: write NAME=VALUES (e.g. seed=1..8, "
                                    "prompt=@prompts.txt)"))
            continue
        try:
            grid.setdefault(name, []).extend(_values(text, base_dir))
        except ValueError as exc:
            problems.append(Problem(f"--grid {name}: {exc}"))
    if problems:
        raise ProblemsError(problems, "bad grid")
    return grid


def _values(text: str, base_dir) -> list:
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        if base_dir is not None and not path.is_absolute() and not path.exists():
            path = Path(base_dir) / path
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
        values = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not values:
            raise ValueError(f"{path} has no values (one per line)")
        return values
    match = _RANGE.match(text)
    if match:
        first, last = int(match.group(1)), int(match.group(2))
        if last < first:
            raise ValueError(f"range {text} is empty: write the smaller number first")
        if last - first >= MAX_JOBS:
            raise ValueError(f"range {text} has more than {MAX_JOBS} values")
        return list(range(first, last + 1))
    return [text]


def expand(graph: Graph, grid: Mapping[str, list], *, zip_values: bool = False,
           fixed: Mapping[str, Any] | None = None, default_seed: int = 0,
           salt: str = "", registry=None) -> list[Job]:
    """The jobs of a sweep, every value checked (all problems at once, each naming the input
    and the value). `fixed` values apply to every job (`--set`). A job whose graph has no seed
    gets `default_seed`, so that every image can be made again. `salt` goes into the job keys
    (the settings outside the graph that change an image: epochs, model)."""
    base = with_inputs(graph, fixed or {}, registry) if fixed else graph
    names = list(grid)
    problems = []
    parsed: dict[str, list] = {}
    for name in names:
        if not grid[name]:
            problems.append(Problem(f"--grid {name}: no values"))
            continue
        parsed[name] = []
        for value in grid[name]:
            try:
                parsed[name].append(parse_input(base, name, value, registry))
            except ProblemsError as exc:
                problems += [Problem(f"{p.message} (value {value!r})", path=p.path) for p in exc.problems]
                break           # one message per input is enough
    if problems:
        raise ProblemsError(problems, "bad grid")
    lists = [parsed[n] for n in names]
    if zip_values:
        lengths = {n: len(v) for n, v in zip(names, lists)}
        if len(set(lengths.values())) > 1:
            raise ProblemsError([Problem("--zip needs the same number of values for every input, got "
                                         + ", ".join(f"{n}: {k}" for n, k in lengths.items()))], "bad grid")
        combos = list(zip(*lists))
    else:
        count = 1
        for values in lists:
            count *= len(values)
        if count > MAX_JOBS:
            raise ProblemsError([Problem(f"the grid makes {count} jobs; at most {MAX_JOBS}")], "bad grid")
        combos = list(itertools.product(*lists))
    jobs = []
    for index, combo in enumerate(combos):
        inputs = dict(zip(names, combo))
        job_graph = with_inputs(base, inputs, registry)
        train = next((n for n in job_graph if n.type == "train"), None)
        if train is not None and train.params.get("seed") is None:
            job_graph.set_param(train.id, "seed", default_seed)
        job = Job(index, inputs, job_graph)
        job.key = job_key(job_graph, salt)
        jobs.append(job)
    _name_jobs(jobs)
    return jobs


def job_key(graph: Graph, salt: str = "") -> str:
    """Same key, same image: a hash of the graph file text (positions left out) and `salt`."""
    layout_free = graph.copy()
    for node in layout_free:
        node.pos = (0.0, 0.0)
    digest = hashlib.sha256((dumps_graph(layout_free) + "\0" + salt).encode("utf-8"))
    return digest.hexdigest()[:16]


def job_name(inputs: Mapping[str, Any]) -> str:
    """A readable file stem from a job's inputs: texts as words (`a-red-lighthouse`), others
    as name and value (`seed-3`, `size-768x512`)."""
    parts = []
    for name, value in inputs.items():
        if isinstance(value, str) and not _is_number(value):
            parts.append(_slug(value, 48) or name)
        else:
            flat = "x".join(str(v) for v in value) if isinstance(value, list) else str(value)
            parts.append(f"{name}-{_slug(flat, 24)}")
    return "_".join(parts) or "job"


def _name_jobs(jobs: list[Job]) -> None:
    """Names from the inputs; jobs whose names clash (long texts cut alike) get -2, -3, ..."""
    seen: dict[str, int] = {}
    for job in jobs:
        base = job_name(job.inputs)
        seen[base] = seen.get(base, 0) + 1
        job.name = base if seen[base] == 1 else f"{base}-{seen[base]}"


def _slug(text: str, limit: int) -> str:
    s = re.sub(r"[^A-Za-z0-9.]+", "-", text.strip()).strip("-.").lower()
    return s[:limit].rstrip("-.")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def describe(inputs: Mapping[str, Any]) -> str:
    """`prompt: a lighthouse, seed: 3` for captions and progress bars."""
    return ", ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in inputs.items())


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
