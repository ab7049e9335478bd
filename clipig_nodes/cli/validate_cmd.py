"""`validate FILE...`: exit 0 when every file is valid, 1 otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

from .report import count_line, print_problems


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="graph file (.graph.yaml), PNG with an embedded graph, or legacy YAML")
    parser.add_argument("--merge", action="store_true",
                        help="validate several legacy configs as one (merged in order, as CLIPig)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--no-files", action="store_true",
                        help="do not check that image files named in the graph exist")


def run(args) -> int:
    from ..documents import load_document
    from ..graph.validate import validate

    groups = [args.files] if args.merge else [[f] for f in args.files]
    all_ok = True
    for paths in groups:
        label = " + ".join(paths)
        loaded = load_document(paths)
        problems = list(loaded.problems)
        if loaded.graph is not None:
            seen = {(p.node, p.param, p.message) for p in problems}
            problems += [p for p in validate(loaded.graph, check_files=not args.no_files,
                                             base_dir=Path(paths[-1]).parent)
                         if (p.node, p.param, p.message) not in seen]
        failed = loaded.graph is None or any(p.is_error for p in problems) or (
            args.strict and problems)
        print_problems(problems, label)
        summary = count_line(problems)
        status = "invalid" if failed else "ok"
        print(f"{label}: {status}" + (f" ({summary})" if summary else ""),
              file=sys.stderr if failed else sys.stdout)
        all_ok &= not failed
    return 0 if all_ok else 1
