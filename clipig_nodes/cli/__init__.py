"""Command line: `python main.py COMMAND ...` (also the `clipig-nodes` script).

Each command lives in its own module and is imported only when it runs, so
light commands (validate, convert, nodes) never import torch or dearpygui.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

# command -> (module, one-line help); the module has add_arguments(parser) and run(args) -> int
COMMANDS = {
    "gui": ("gui_cmd", "open the node editor (what `python main.py` alone does)"),
    "validate": ("validate_cmd", "check graph files, PNGs or legacy configs; exit 1 when invalid"),
    "convert": ("convert_cmd", "convert between graph files, PNG graphs and legacy CLIPig YAML"),
    "nodes": ("nodes_cmd", "list the node types with their params and docs"),
    "run": ("run_cmd", "train a graph (or legacy YAML, or a PNG's graph) into an image"),
    "sweep": ("sweep_cmd", "render a graph once per combination of input values (prompts, seeds, ...)"),
    "bench": ("bench_cmd", "time a training epoch against the bare CLIP forward+backward"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clipig-nodes",
        description="CLIP-guided image generation as a node graph.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        _command_module(module_name).add_arguments(command)
    return parser


def _command_module(module_name: str):
    return import_module(f"{__name__}.{module_name}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui"])
    module = _command_module(COMMANDS[args.command][0])
    from ..registry import RegistryError, default_registry
    try:
        # every command needs the node types: a broken plugin (CLIPIG_NODES_PATH) is
        # reported here, the same way for all of them, with its file and line
        default_registry()
        return module.run(args)
    except RegistryError as exc:
        print(f"clipig-nodes {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the promise: one clear line, never a traceback
        if os.environ.get("CLIPIG_DEBUG"):
            raise
        print(f"clipig-nodes {args.command}: internal error: {type(exc).__name__}: {exc} "
              "(set CLIPIG_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2
