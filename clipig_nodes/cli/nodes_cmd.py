"""`nodes [TYPE...] [--json]`: the node catalog, read from the declarations."""

from __future__ import annotations

import json
import sys

from .report import print_problems


def add_arguments(parser) -> None:
    parser.add_argument("types", nargs="*", metavar="TYPE", help="only these node types")
    parser.add_argument("--json", action="store_true", help="machine-readable catalog")


def run(args) -> int:
    from ..catalog import catalog, format_catalog
    from ..problems import Problem
    from ..registry import default_registry, unknown_message

    registry = default_registry()     # a broken plugin is reported by cli.main
    unknown = [t for t in args.types if t not in registry]
    if unknown:
        print_problems([Problem(unknown_message("node type", t, registry.types)) for t in unknown])
        return 1
    entries = catalog(registry, args.types or None)
    if args.json:
        json.dump(entries, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_catalog(entries))
    return 0
