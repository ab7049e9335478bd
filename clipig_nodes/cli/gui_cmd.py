"""`gui [FILE]`: the node editor (also what `python main.py` alone starts).

`--screenshot OUT.png` opens FILE, optionally trains `--run-epochs N` epochs,
renders a few frames, saves the window to OUT.png (never over an existing
file) and exits: the README's screenshot comes from it. `--bench-fps` measures
the editor's frames per second with a 50-node graph training on the CPU.
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="graph file, PNG with an embedded graph, or legacy CLIPig YAML")
    parser.add_argument("--model", help="CLIP model name or checkpoint path for runs "
                                        "(overrides the Train node's)")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (overrides the Train node's)")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="open FILE, render, save the window as OUT.png and exit")
    from ..limits import MAX_EPOCHS
    from .run_cmd import bounded_int
    parser.add_argument("--run-epochs", type=bounded_int(0, MAX_EPOCHS), default=0, metavar="N",
                        help="with --screenshot: train N epochs first and show the running graph")
    parser.add_argument("--size", default="1600x960", metavar="WxH", help="window size")
    parser.add_argument("--zoom", type=float, metavar="Z",
                        help="with --screenshot: zoom (0.25-2) about the canvas's centre "
                             "instead of fitting the whole graph")
    parser.add_argument("--search", metavar="TEXT",
                        help="with --screenshot: show the canvas search with TEXT typed")
    parser.add_argument("--bench-fps", action="store_true",
                        help="measure frames per second while a 50-node graph trains, then exit")
    parser.add_argument("--nodes", type=int, default=50, help="with --bench-fps: graph size")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="with --bench-fps: how long to measure")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--size must be WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def run(args) -> int:
    from ..gui.display import display_problem

    problem = display_problem()
    if problem:
        print(f"clipig-nodes gui: {problem}", file=sys.stderr)
        return 1
    if args.run_epochs and not args.screenshot:
        print("--run-epochs goes with --screenshot", file=sys.stderr)
        return 1
    width, height = _size(args.size)
    options = {"model": args.model, "device": args.device}
    if args.bench_fps:
        from ..gui.screenshot import bench_fps
        return bench_fps(nodes=args.nodes, seconds=args.seconds, run_options=options,
                         size=(width, height))
    if args.screenshot:
        from ..gui.screenshot import take_screenshot
        return take_screenshot(args.screenshot, args.file, run_epochs=args.run_epochs,
                               run_options=options, size=(width, height), zoom=args.zoom,
                               search=args.search)
    from ..gui.app import App

    from ..gui.display import screen_size

    app = App(args.file, run_options=options, width=width, height=height, warm_up=True,
              screen=screen_size())           # the window opens inside the screen
    try:
        app.run_loop()
    finally:
        app.close()          # stops the training process; a second close does nothing
    return 0
