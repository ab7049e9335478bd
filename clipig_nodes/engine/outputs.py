"""Where a run's image goes, and writing it: PNG with the graph inside, plus a sidecar.

- The wanted name comes from clipig_nodes.output_names (-o, else the Train node's
  `output`).
- A name that exists is never replaced: `name.png`, `name-1.png`, ... The first write
  claims the image and its sidecar `<name>.graph.yaml` together (yamlio.write_new: created
  complete, or not at all when the name is taken, a dangling symbolic link included), so
  the sidecar is always named after the image it describes, and runs sharing a folder get
  distinct, matching pairs.
- The run owns those two names: snapshots rewrite the image, the end (or a stop) rewrites
  both, atomically (a kill leaves the previous version, never half a file).
- The sidecar holds the graph with a header of comments (time, epochs, runtime, seed, last
  statistics).
"""

from __future__ import annotations

import time
from pathlib import Path

from ..graph.fileformat import SUFFIX, dumps_graph
from ..graph.model import Graph
from ..graph.pngmeta import encode_png, numbered
from ..yamlio import write_atomic, write_new
from .errors import EngineError
from .images import to_pil

RUN_KEY = "clipig-nodes-run"
MAX_NUMBER = 100_000       # name-1 ... name-99999: beyond that something is wrong


class OutputFile:
    """The image file (and its sidecar) a run owns: claimed at the first write."""

    def __init__(self, wanted: Path):
        self.wanted = Path(wanted)
        try:
            self.wanted.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(f"cannot create the folder {self.wanted.parent}: "
                              f"{exc.strerror or exc}") from None
        if not self.wanted.parent.is_dir():
            raise EngineError(f"cannot write into {self.wanted.parent}: not a folder")
        self.path: Path | None = None          # set once claimed
        self.sidecar: Path | None = None

    @property
    def written(self) -> bool:
        return self.path is not None

    def write(self, pixels, graph: Graph, header: dict[str, str], sidecar: bool = False) -> Path:
        """Write the image (and with `sidecar`, the sidecar too); the first call claims both
        names. OSError when the folder cannot be written."""
        image = encode_png(to_pil(pixels), graph, {RUN_KEY: _header_text(header)})
        if self.path is None:
            self._claim(image, sidecar_text(graph, header))
            return self.path
        write_atomic(self.path, image)
        if sidecar:
            write_atomic(self.sidecar, sidecar_text(graph, header))
        return self.path

    def _claim(self, image: bytes, text: str) -> None:
        for n in range(MAX_NUMBER):
            path = numbered(self.wanted, n)
            side = path.with_name(path.stem + SUFFIX)
            try:
                write_new(path, image)
            except FileExistsError:
                continue
            try:
                write_new(side, text)
            except FileExistsError:
                # e.g. the input demo.graph.yaml beside a free demo.png: give the name back
                path.unlink()
                continue
            except BaseException:
                path.unlink()
                raise
            self.path, self.sidecar = path, side
            return
        raise EngineError(f"no free name for {self.wanted} (tried {MAX_NUMBER:,} numbers)")


def sidecar_text(graph: Graph, header: dict[str, str]) -> str:
    comments = "".join(f"# {_printable(line)}\n" for line in _header_text(header).splitlines())
    return comments + dumps_graph(graph)


def _printable(text: str) -> str:
    """A comment line YAML accepts: the header quotes prompts and names from the graph, which
    may hold control characters YAML refuses even in comments; those become \\xNN."""
    return "".join(c if c == "\t" or " " <= c <= "~" or "\xa0" <= c <= "\ud7ff"
                   or "\ue000" <= c <= "\ufffd" or c >= "\U00010000" else f"\\x{ord(c):02x}"
                   for c in text)


def _header_text(header: dict[str, str]) -> str:
    lines = []
    for key, value in header.items():
        value = str(value)
        if "\n" in value:
            lines.append(f"{key}:")
            lines += [f"  {line}" for line in value.splitlines()]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def run_header(epoch: int, epochs: int, runtime: float, seed: int, device: str, model: str,
               stats_table: str = "") -> dict[str, str]:
    done = max(0, epoch)
    return {
        "clipig-nodes run": time.strftime("%Y-%m-%d %H:%M:%S"),
        "epochs": f"{done} / {epochs}",
        "runtime": f"{runtime:.2f} seconds ({runtime / max(1, done):.3f}/epoch)",
        "seed": str(seed),
        "device": device,
        "model": model,
        **({"targets": stats_table} if stats_table else {}),
    }
