"""Where a run's image goes, and writing it: PNG with the graph inside, plus a sidecar.

- The wanted name comes from clipig_nodes.output_names (-o, else the Train node's
  `output`).
- A name that exists is never replaced: `name.png`, `name-1.png`, ... The name is
  claimed atomically when the run starts (pngmeta.reserve_path), so runs started
  at the same time get distinct files. Snapshots and the final image rewrite
  only that claimed file, atomically.
- The sidecar `<name>.graph.yaml` holds the graph with a header of comments (time,
  epochs, runtime, seed, last statistics); it is written next to the image at the
  end (or on stop), under a free name if that one is taken.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..graph.fileformat import SUFFIX, dumps_graph
from ..graph.model import Graph
from ..graph.pngmeta import encode_png, reserve_path
from ..yamlio import write_atomic
from .errors import EngineError
from .images import to_pil

RUN_KEY = "clipig-nodes-run"


class OutputFile:
    """The image file a run owns: claimed at the start, rewritten by snapshots."""

    def __init__(self, wanted: Path):
        try:
            wanted.parent.mkdir(parents=True, exist_ok=True)
            self.path = reserve_path(wanted)
        except OSError as exc:
            raise EngineError(f"cannot create the output image {wanted}: "
                              f"{exc.strerror or exc}") from None
        self.written = False

    def write(self, pixels, graph: Graph, header: dict[str, str]) -> Path:
        data = encode_png(to_pil(pixels), graph, {RUN_KEY: _header_text(header)})
        write_atomic(self.path, data)
        self.written = True
        return self.path

    def write_sidecar(self, graph: Graph, header: dict[str, str]) -> Path:
        sidecar = self.path.with_name(self.path.stem + SUFFIX)
        n = 0
        while sidecar.exists():      # e.g. the input graph itself: demo.png beside demo.graph.yaml
            n += 1
            sidecar = self.path.with_name(f"{self.path.stem}-{n}{SUFFIX}")
        comments = "".join(f"# {line}\n" for line in _header_text(header).splitlines())
        write_atomic(sidecar, comments + dumps_graph(graph))
        return sidecar

    def discard_if_empty(self) -> None:
        """A run that ends before its first image leaves no empty claimed file behind."""
        if not self.written:
            try:
                if self.path.stat().st_size == 0:
                    self.path.unlink()
            except OSError:
                pass


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
