"""A file's own `output` (the Train node's param, or a legacy config's `output` key) where
the command does not use it: `run -o` (which decides where the image goes) and `convert`
(which writes no image). An `output` that `run` would refuse without -o must not stop
these; `convert` keeps the value and says it as a warning."""

from __future__ import annotations

from dataclasses import replace

from ..problems import WARNING


def is_output_problem(graph, problem) -> bool:
    """Whether `problem` is about the Train node's output (graph, PNG or legacy config)."""
    if problem.path == "output" and problem.node is None:          # legacy: the top-level key
        return True
    node = graph.nodes.get(problem.node) if graph is not None and problem.node else None
    return node is not None and node.type == "train" and problem.param == "output"


def as_warning(problem):
    return replace(problem, severity=WARNING) if problem.is_error else problem


def load_tolerating_output(paths: list[str]):
    """load_document, where errors about `output` alone do not keep the graph from loading:
    they come back as warnings. Legacy configs are imported again without their `output`
    key, which is then put back on the Train node as it was written."""
    from ..documents import LEGACY, Loaded, load_document

    loaded = load_document(paths)
    errors = [p for p in loaded.problems if p.is_error]
    if not errors or not all(is_output_problem(loaded.graph, p) for p in errors):
        return loaded
    if loaded.graph is not None:
        return Loaded(loaded.graph, loaded.kind, [as_warning(p) for p in loaded.problems])
    if loaded.kind != LEGACY:
        return loaded
    graph, problems = _legacy_without_output(paths)
    if graph is None:
        return loaded
    return Loaded(graph, LEGACY, [as_warning(p) for p in errors]
                  + [p for p in problems if p.path != "output"])


def _legacy_without_output(paths):
    from ..legacy.importer import Report, _import
    from ..yamlio import YamlError, load_yaml, read_text

    documents, output = [], None
    try:
        for path in paths:
            data, _ = load_yaml(read_text(path))
            if isinstance(data, dict) and "output" in data:
                output = data.pop("output")        # CLIPig takes it from the last file
            documents.append((str(path), data))
    except YamlError:
        return None, []
    result = _import(documents, None, Report())
    if result.graph is not None and isinstance(output, str):
        train = next(n for n in result.graph if n.type == "train")
        result.graph.set_param(train.id, "output", output)
    return result.graph, result.problems
