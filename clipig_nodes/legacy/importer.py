"""Legacy CLIPig YAML -> graph: the public entry points.

    result = import_legacy_files(["base.yaml", "scene.yaml"])
    if result.ok: use(result.graph)
    for problem in result.problems: print(problem)

Several documents merge as CLIPig's CLI merges them (merge.py). Every problem
comes back at once, with its key path, file and line; nothing raises. When
there are errors the graph is None. On a config without errors, the built
graph also goes through graph validation, whose node/param problems are
mapped back to key paths (and not repeated when the importer said it already).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

from ..graph.model import Graph
from ..problems import Problem
from ..registry import default_registry
from ..yamlio import YamlError, load_yaml, read_text
from .build import Builder
from .checks import legacy_warnings
from .merge import merge_documents, output_note
from .where import Loc, Report


@dataclass
class ImportResult:
    graph: Graph | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


def import_legacy(data: Any, source: str | None = None, registry=None) -> ImportResult:
    """One already-parsed document (a dict as yaml.safe_load gives it)."""
    return _import([(source, data)], registry, Report())


def import_legacy_texts(documents: Iterable[tuple[str, str]], registry=None) -> ImportResult:
    """[(source name, YAML text), ...], merged in order."""
    report, parsed = Report(), []
    for source, text in documents:
        if not isinstance(text, str):
            report.error(Loc(source=source), f"expected YAML text, got {type(text).__name__}")
            continue
        try:
            data, duplicates = load_yaml(text)
        except YamlError as exc:
            report.error(Loc(source=source, line=exc.line), str(exc))
            continue
        except yaml.YAMLError as exc:   # load_yaml lets a few reader errors through
            report.error(Loc(source=source), f"invalid YAML: {exc}")
            continue
        for key, line in duplicates:
            report.warn(Loc(source=source, line=line), f"`{key}` appears twice in one mapping; "
                                                       "the later value is used (as in CLIPig)")
        parsed.append((source, data))
    return _import(parsed, registry, report)


def import_legacy_files(paths: Iterable[str | os.PathLike], registry=None) -> ImportResult:
    """Read and merge config files in order; unreadable files are problems too."""
    report, documents = Report(), []
    for path in paths:
        name = str(path)
        try:
            documents.append((name, read_text(path)))
        except YamlError as exc:
            message = str(exc)
            message = message[len(name) + 2:] if message.startswith(name + ": ") else message
            report.error(Loc(source=name), message)
    result = import_legacy_texts(documents, registry)
    result.problems[:0] = report.problems
    if report.has_errors:
        result.graph = None
    return result


def _import(documents: list[tuple[str | None, Any]], registry, report: Report) -> ImportResult:
    registry = registry or default_registry()
    try:
        merged = merge_documents(documents, report)
        output_note(documents, report)
        builder = Builder(registry, report)
        graph = builder.build(merged, documents[0][0] if documents else None)
        if not report.has_errors:
            legacy_warnings(builder)
        if not report.has_errors:
            _validate(builder, report)
        if report.has_errors:
            return ImportResult(None, report.problems)
        from ..graph.layout import auto_layout
        auto_layout(graph, registry)
        return ImportResult(graph, report.problems)
    except Exception as exc:  # a bug here must still not become a traceback for the user
        report.error(Loc(), f"internal error in the legacy importer ({type(exc).__name__}: {exc}); "
                            "please report this config")
        return ImportResult(None, report.problems)


def _validate(builder: Builder, report: Report) -> None:
    """Graph validation of the built graph, problems mapped to key paths, repeats dropped."""
    try:
        from ..graph.validate import validate
    except ImportError:      # validation not available (yet): the importer's checks stand alone
        return
    problems = validate(builder.graph, builder.registry)
    seen_paths = {(p.path, p.severity) for p in report.problems}
    seen_messages = {(p.path, p.message) for p in report.problems}
    for problem in problems:
        loc = builder.param_loc.get((problem.node, problem.param)) \
            or builder.node_loc.get(problem.node) or Loc()
        path = loc.path or None
        if problem.param is not None and ((problem.node, problem.param, problem.severity)
                                          in report.about or (path, problem.severity) in seen_paths):
            continue
        if (path, problem.message) in seen_messages:
            continue
        # with a key path the problem reads like the importer's own; without one, keep the node
        node, param = (None, None) if path else (problem.node, problem.param)
        report.problems.append(Problem(problem.message, problem.severity, node=node, param=param,
                                       path=path, source=loc.source, line=loc.line))
