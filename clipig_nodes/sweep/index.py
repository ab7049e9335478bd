"""OUT/index.json and OUT/index.csv: what a sweep has done, rewritten atomically after each job.

The index is the sweep's memory: a job whose key is recorded `done` with its image on disk
is not run again, so a sweep cut short (a crash, Ctrl-C, a lost worker) resumes where it
stopped and never does a finished job twice. A crash leaves the old index or the new one.
Plain Python: no torch.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..problems import Problem, ProblemsError
from ..yamlio import write_atomic

FORMAT = "clipig-nodes-sweep"
VERSION = 1
DONE, PENDING, FAILED = "done", "pending", "failed"


@dataclass
class Entry:
    key: str
    name: str
    inputs: dict[str, Any]
    seed: int | None = None
    status: str = PENDING
    image: str | None = None          # file name in OUT
    epochs: int | None = None
    runtime: float | None = None
    loss: float | None = None
    stats: list = field(default_factory=list)
    error: str | None = None
    worker: str = ""                  # host:pid that trained it


class SweepIndex:
    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.entries: dict[str, Entry] = {}          # key -> entry, in the order jobs were added
        self.info: dict[str, Any] = {}

    @property
    def json_path(self) -> Path:
        return self.out / "index.json"

    @property
    def csv_path(self) -> Path:
        return self.out / "index.csv"

    @classmethod
    def open(cls, out: str | Path) -> "SweepIndex":
        """The index in OUT, or an empty one. ProblemsError when the file is there but unreadable
        (it is never replaced then: it is the record of finished work)."""
        index = cls(out)
        path = index.json_path
        if not path.exists():
            return index
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"not a sweep index (format is not {FORMAT})")
            index.info = dict(data.get("sweep") or {})
            for item in data["jobs"]:
                entry = Entry(**item)
                index.entries[entry.key] = entry
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProblemsError([Problem(f"cannot read the sweep index: {exc}", source=str(path))],
                                "cannot resume") from None
        return index

    def is_done(self, key: str) -> bool:
        entry = self.entries.get(key)
        return (entry is not None and entry.status == DONE and entry.image is not None
                and (self.out / entry.image).is_file())

    def taken_names(self) -> set[str]:
        return {Path(e.image).stem for e in self.entries.values() if e.image}

    def add(self, entry: Entry) -> Entry:
        """Record a job (keeps a done entry as it is)."""
        old = self.entries.get(entry.key)
        if old is not None and self.is_done(entry.key):
            return old
        self.entries[entry.key] = entry
        return entry

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "version": VERSION, "sweep": self.info,
                "jobs": [vars(e) for e in self.entries.values()]}
        write_atomic(self.json_path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        write_atomic(self.csv_path, self._csv())

    def _csv(self) -> str:
        names = list(dict.fromkeys(n for e in self.entries.values() for n in e.inputs))
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        seed = [] if "seed" in names else ["seed"]        # an input named seed is the seed
        writer.writerow(["name", *names, *seed, "status", "image", "epochs", "runtime_s", "loss",
                         "error"])
        for e in self.entries.values():
            values = [_cell(e.inputs.get(n, "")) for n in names]
            writer.writerow([e.name, *values, *([e.seed] if seed else []), e.status, e.image or "", e.epochs or "",
                             "" if e.runtime is None else f"{e.runtime:.2f}",
                             "" if e.loss is None else f"{e.loss:.6g}", e.error or ""])
        return buffer.getvalue()


def _cell(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)
