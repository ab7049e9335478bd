"""The torch runtime: graphs -> images. Importing this package imports torch.

For notebooks:

    from clipig_nodes.engine import run_graph
    result = run_graph("graphs/strawberries.graph.yaml", epochs=50, device="cpu")
    result.image            # PIL image
    print(result.table())   # per-target/feature statistics

For control while training (what the GUI uses): `Run(graph, ...)`, then
`for event in run.events(): ...` and `run.stop() / pause() / resume() / update(graph)`.
"""

from __future__ import annotations

from pathlib import Path

from ..graph.model import Graph
from ..problems import ProblemsError
from .errors import EngineError
from .run import Event, Run, RunResult
from .trainer import RunOptions, Trainer

__all__ = ["Event", "EngineError", "Run", "RunOptions", "RunResult", "Trainer", "load",
           "run_graph"]


def load(source) -> Graph:
    """A Graph from a Graph, a graph file, a PNG with a graph, or legacy YAML file(s)."""
    if isinstance(source, Graph):
        return source
    from ..documents import load_document
    loaded = load_document(source)
    if not loaded.ok:
        raise ProblemsError(loaded.problems, f"cannot load {source}")
    return loaded.graph


def run_graph(source, *, output: str | None = None, save: bool = False, on_event=None,
              clip=None, **options) -> RunResult:
    """Train a graph (or a file) and return the result. `options` are RunOptions fields
    (device, model, epochs, seed, precision, compile). With save=True the image and
    sidecar are written as by `main.py run`. `clip`: a loaded model (e.g. `run.trainer.clip` of
    an earlier run) to reuse instead of loading one."""
    graph = load(source)
    path = None if isinstance(source, Graph) else Path(source if not isinstance(source, (list, tuple)) else source[-1])
    run = Run(graph, RunOptions(**options), output=output, source=path, save=save, clip=clip)
    return run.run(on_event)
