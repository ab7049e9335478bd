"""`bench`: ms per epoch against the bare CLIP forward+backward floor (see engine/bench.py)."""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("--resolution", type=int, default=512, help="image size (square)")
    parser.add_argument("--batch", type=int, default=5, help="views per epoch")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=10, help="timed epochs (after warm-up)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the CLIP encoder")
    parser.add_argument("--fast-kernels", action="store_true",
                        help="CUDA: allow non-deterministic kernels, as run --fast-kernels")
    parser.add_argument("--cuda-graph", choices=("both", "auto", "off"), default="both",
                        help="CUDA: time the step captured as a CUDA graph, eager, or both")


def run(args) -> int:
    from ..engine.bench import run_bench
    from ..engine.errors import EngineError

    modes = ("auto", "off") if args.cuda_graph == "both" else (args.cuda_graph,)
    for mode in modes:
        try:
            result = run_bench(args.resolution, args.batch, args.precision, args.device,
                               args.epochs, args.compile, deterministic=not args.fast_kernels,
                               cuda_graph=mode)
        except EngineError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        print(result.report())
        if not result.device.startswith("cuda"):
            break               # capture is CUDA's: on the CPU both would be the same run
    return 0
