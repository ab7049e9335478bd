"""The one error type the engine raises for bad input (missing image, unknown model,
absent GPU, out of memory): its message is shown to the user as it is.

Also the helpers that turn an exception from a node's code into such a message: node
code (the library's or a plugin's) runs inside the engine, and a user must learn which
node failed and where, not only that something did. This module imports no torch.
"""

from __future__ import annotations

import traceback
from contextlib import contextmanager
from pathlib import Path

from ..problems import describe_exception


class EngineError(RuntimeError):
    pass


class NodeInputError(ValueError):
    """Raised by node code for input it cannot work with at run time (a crop larger than
    the image it gets); the message is for the user, so no exception name is added."""


# RuntimeError texts of allocators that ran out (torch's CPU allocator raises a plain
# RuntimeError, CUDA an OutOfMemoryError, which is a RuntimeError too)
_OOM_TEXTS = ("can't allocate memory", "defaultcpuallocator", "out of memory",
              "not enough memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for any device's out-of-memory error (torch.OutOfMemoryError, CPU allocator
    failures, MemoryError)."""
    if isinstance(exc, EngineError):
        return False
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and any(t in str(exc).lower() for t in _OOM_TEXTS)


def out_of_memory_error(device: str, epoch: int | None = None) -> EngineError:
    """The message for an allocation that failed mid-run, with the knobs to turn."""
    when = f" at epoch {epoch}" if epoch is not None else ""
    return EngineError(f"out of {device.upper()} memory{when}: lower batch_size or the "
                       "resolution, or use --precision bf16")


def node_error(stage_id: str, type_name: str, exc: BaseException) -> EngineError:
    """EngineError "node 'x' (type y): ZeroDivisionError: ... at plugin.py:12".

    The place is the innermost frame of the traceback that lies outside this package and
    outside torch: the node's own code (nodes/*.py or a plugin file), where the mistake is.
    A NodeInputError keeps its message as it is.
    """
    where = f"node '{stage_id}' (type {type_name})"
    if isinstance(exc, NodeInputError):
        return EngineError(f"{where}: {exc}")
    place = _node_frame(exc)
    return EngineError(f"{where}: {describe_exception(exc)}" + (f" at {place}" if place else ""))


_PACKAGE = Path(__file__).resolve().parent.parent          # clipig_nodes/


def _node_frame(exc: BaseException) -> str | None:
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        path = Path(frame.filename)
        if path.is_absolute():
            try:
                path.resolve().relative_to(_PACKAGE)
                continue                       # the engine's own helpers
            except ValueError:
                pass
        parts = set(path.parts)
        if "torch" in parts or "site-packages" in parts or frame.filename.startswith("<"):
            continue
        return f"{path.name}:{frame.lineno}"
    return None


@contextmanager
def in_node(stage_id: str, type_name: str):
    """Runs node code; its exceptions become node_error (out of memory passes unchanged,
    for the run's own message). A SystemExit from a plugin becomes one too: node code never
    ends the program; Ctrl-C (KeyboardInterrupt) keeps its meaning."""
    try:
        yield
    except (EngineError, KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: B036
        if is_out_of_memory(exc):
            raise
        raise node_error(stage_id, type_name, exc) from exc
