"""`bench`: ms per epoch against the bare CLIP forward+backward floor (see engine/bench.py);
`bench --quality`: sources and cutouts compared on the toy world (toyworld/quality.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def add_arguments(parser) -> None:
    from ..limits import MAX_BATCH, MAX_EPOCHS, MAX_SIDE
    from .run_cmd import bounded_int
    parser.add_argument("--resolution", type=bounded_int(1, MAX_SIDE), default=512,
                        help="image size (square)")
    parser.add_argument("--batch", type=bounded_int(1, MAX_BATCH), default=5,
                        help="views per epoch")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=bounded_int(0, MAX_EPOCHS), default=None,
                        help="timed epochs after warm-up (default 10); --quality: epochs per run "
                             "(default 100)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the CLIP encoder")
    parser.add_argument("--fast-kernels", action="store_true",
                        help="CUDA: allow non-deterministic kernels, as run --fast-kernels")
    parser.add_argument("--cuda-graph", choices=("both", "auto", "off"), default="both",
                        help="CUDA: time the step captured as a CUDA graph, eager, or both")
    quality = parser.add_argument_group("quality (toy world, see docs/quality.md)")
    quality.add_argument("--quality", action="store_true",
                         help="compare sources and cutouts on the toy world instead of timing")
    quality.add_argument("--seeds", type=int, default=3, help="seeds per setting (0..N-1)")
    quality.add_argument("--prompts", type=int, default=10, help="the first N of the 10 prompts")
    quality.add_argument("--settings", default=None,
                         help="comma-separated setting names (default: all; see the table)")
    quality.add_argument("--grid", default=None, metavar="PNG",
                         help="also write seed 0's final images as one picture (a row per "
                              "setting, a column per prompt); never overwrites a file")


def run(args) -> int:
    if args.quality:
        return run_quality(args)
    from ..engine.bench import run_bench
    from ..engine.errors import EngineError

    modes = ("auto", "off") if args.cuda_graph == "both" else (args.cuda_graph,)
    for mode in modes:
        try:
            result = run_bench(args.resolution, args.batch, args.precision, args.device,
                               args.epochs or 10, args.compile,
                               deterministic=not args.fast_kernels,
                               cuda_graph=mode)
        except EngineError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        print(result.report())
        if not result.device.startswith("cuda"):
            break               # capture is CUDA's: on the CPU both would be the same run
    return 0


def run_quality(args) -> int:
    from ..engine.errors import EngineError
    from ..problems import ProblemsError
    from ..toyworld import quality

    names = [n.strip() for n in args.settings.split(",")] if args.settings else None
    known = {s.name: s for s in quality.SETTINGS}
    unknown = [n for n in names or () if n not in known]
    if unknown:
        print(f"bench --settings: unknown setting {', '.join(repr(n) for n in unknown)}; "
              f"known: {', '.join(known)}", file=sys.stderr)
        return 2
    for option, value, top in (("--seeds", args.seeds, None), ("--epochs", args.epochs, None),
                               ("--prompts", args.prompts, len(quality.PROMPTS))):
        if value is not None and (value < 1 or (top and value > top)):
            print(f"bench {option}: must be 1..{top or 'N'}, got {value}", file=sys.stderr)
            return 2
    grid = Path(args.grid).expanduser() if args.grid is not None else None
    problem = grid is not None and _grid_problem(grid)
    if problem:
        print(f"bench --grid {args.grid}: {problem}", file=sys.stderr)
        return 1
    epochs = args.epochs or 100
    settings = [known[n] for n in names] if names else quality.SETTINGS
    try:
        results = quality.benchmark(settings, quality.PROMPTS[:args.prompts],
                                    range(args.seeds), epochs,
                                    log=lambda line: print(line, file=sys.stderr, flush=True))
    except (EngineError, ProblemsError) as exc:
        print(f"bench --quality: {exc}", file=sys.stderr)
        return 1
    print(quality.report(results, epochs, quality.EVERY))
    if grid is not None:
        return _write_grid(quality.grid(results, seed=0), grid)
    return 0


def _grid_problem(path: Path) -> str | None:
    """Why --grid cannot be written, checked before the runs so that a long benchmark does
    not end in a refusal; None when it can."""
    if path.suffix.lower() != ".png":
        return "must end in .png"
    if os.path.lexists(path):
        return "exists (bench never overwrites a file)"
    if not path.parent.is_dir():
        return f"folder {path.parent} does not exist"
    return None


def _write_grid(image, path) -> int:
    import io

    from ..yamlio import write_new
    data = io.BytesIO()
    image.save(data, format="PNG")
    try:
        write_new(path, data.getvalue())
    except FileExistsError:
        print(f"bench --grid {path}: exists (made while the benchmark ran); not overwritten",
              file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"bench --grid {path}: cannot write: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"grid: {path}", file=sys.stderr)
    return 0
