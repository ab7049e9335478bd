"""`convert IN... OUT`: graph file <-> legacy CLIPig YAML (PNG graphs as input too).

IN is recognised by content. OUT is a graph file when it ends in .graph.yaml,
legacy YAML otherwise (or as --to says); `-` writes to stdout. An existing OUT
is never replaced without --force, and nothing is written when there are errors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .report import print_problems


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="IN",
                        help="graph file, PNG with a graph, or legacy YAML (several are merged)")
    parser.add_argument("output", metavar="OUT", help="output file, or - for stdout")
    parser.add_argument("--to", choices=("graph", "legacy"),
                        help="output format (default: graph for *.graph.yaml, else legacy)")
    parser.add_argument("--force", action="store_true", help="replace OUT if it exists")


def run(args) -> int:
    from .output_param import as_warning, is_output_problem, load_tolerating_output
    from ..graph.fileformat import SUFFIX, dumps_graph
    from ..graph.validate import validate

    out = args.output
    target = args.to or ("graph" if out.endswith(SUFFIX) else "legacy")
    if out != "-":
        refused = _refused_output(Path(out), args.force)
        if refused:
            print(f"{out}: {refused}", file=sys.stderr)
            return 1
    loaded = load_tolerating_output(args.inputs)      # convert writes no image
    label = " + ".join(args.inputs)
    if not loaded.ok:
        print_problems(loaded.problems, label)
        print(f"{label}: not converted", file=sys.stderr)
        return 1
    problems = list(loaded.problems)
    seen = {p.message for p in problems}        # the importer may have said it already
    problems += [as_warning(p) if is_output_problem(loaded.graph, p) else p
                 for p in validate(loaded.graph, check_files=False) if p.message not in seen]
    if any(p.is_error for p in problems):      # e.g. a cycle: nothing is written
        print_problems(problems, label)
        print(f"{label}: not converted", file=sys.stderr)
        return 1
    if target == "graph":
        text = dumps_graph(loaded.graph)
    else:
        from ..legacy import dumps_legacy
        text, export_problems = dumps_legacy(loaded.graph)
        problems += export_problems
        if text is None or any(p.is_error for p in export_problems):
            print_problems(problems, label)
            print(f"{label}: cannot be written as legacy YAML", file=sys.stderr)
            return 1
    print_problems(problems, label)
    if out == "-":
        sys.stdout.write(text)
        return 0
    failed = _write(Path(out), text, args.force)
    if failed:
        print(f"{out}: {failed}; nothing written", file=sys.stderr)
        return 1
    print(f"wrote {out} ({target})", file=sys.stderr)
    return 0


def _refused_output(path: Path, force: bool) -> str | None:
    """Why OUT cannot be written (checked before any work; the write checks again)."""
    if path.is_symlink():
        return "is a symbolic link; it is never replaced or followed (name another file)"
    if path.is_dir():
        return "is a folder; name a file"
    if os.path.lexists(path) and not force:
        return "already exists; pass --force to replace it"
    if not path.parent.is_dir() and str(path.parent):
        return f"the folder {path.parent} does not exist"
    return None


def _write(path: Path, text: str, force: bool) -> str | None:
    """Write OUT atomically; the reason when it cannot be written, else None."""
    from ..yamlio import write_atomic, write_new

    try:
        if force and os.path.lexists(path):
            refused = _refused_output(path, force)
            if refused:
                return refused
            write_atomic(path, text)
        else:
            write_new(path, text)      # never over a name that appeared meanwhile
    except FileExistsError:
        return "already exists; pass --force to replace it"
    except OSError as exc:
        return f"cannot write: {exc.strerror or exc}"
    return None
