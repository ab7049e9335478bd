"""`convert IN... OUT`: graph file <-> legacy CLIPig YAML (PNG graphs as input too).

IN is recognised by content. OUT is a graph file when it ends in .graph.yaml,
legacy YAML otherwise (or as --to says); `-` writes to stdout. An existing OUT
is never replaced without --force, and nothing is written when there are errors.
"""

from __future__ import annotations

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
    from ..documents import load_document
    from ..graph.fileformat import SUFFIX, dumps_graph
    from ..yamlio import write_atomic

    out = args.output
    target = args.to or ("graph" if out.endswith(SUFFIX) else "legacy")
    if out != "-" and Path(out).exists() and not args.force:
        print(f"{out}: already exists; pass --force to replace it", file=sys.stderr)
        return 1
    loaded = load_document(args.inputs)
    label = " + ".join(args.inputs)
    if not loaded.ok:
        print_problems(loaded.problems, label)
        print(f"{label}: not converted", file=sys.stderr)
        return 1
    problems = list(loaded.problems)
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
    else:
        write_atomic(out, text)
        print(f"wrote {out} ({target})", file=sys.stderr)
    return 0
