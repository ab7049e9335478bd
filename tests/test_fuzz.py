"""Fuzzing the commands a user runs on files someone sent: mutated graph files, legacy YAML
and PNG metadata go through `validate` and, when valid, a 1-epoch `run` of the tiny CLIP.

The property, for every input:
- the exit code is 0, 1 or 130; no traceback and no `internal error` in the output;
- no file is written outside `-o` (the folder the command runs in, the input's folder and a
  "forbidden" folder the mutations point `output` at stay as they were);
- nothing is half-written: every PNG left is a whole image with its graph, every sidecar a
  graph file named after its image, no empty file;
- memory stays bounded: each command runs in a forked child (torch already loaded, so this
  is cheap) whose peak resident size is measured and must stay under 2 GB; an address-space
  limit keeps a blow-up from taking the machine with it.

By default a CI-sized, derandomised number of inputs (under a minute); `--fuzz-examples N`
for the long setting (the nightly run uses 5000).
"""

from __future__ import annotations

import copy
import io
import os
import re
import resource
import signal
import struct
import sys
import tempfile
import time
import traceback
import zlib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from clipig_nodes.graph.fileformat import load_graph
from clipig_nodes.graph.pngmeta import PNG_KEY, read_png_graph

from .legacy_examples import VALID as LEGACY_VALID

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "graphs").glob("*.graph.yaml"))
CI_EXAMPLES = 40
PEAK_LIMIT = 2 * 1024 ** 3           # the goal: no command above 2 GB resident
CHILD_SECONDS = 120                  # a command that takes longer counts as a hang
ALLOWED_CODES = {0, 1, 130}

# --- what mutations put in -------------------------------------------------------------------

FORBIDDEN = "FORBIDDEN"      # replaced by the forbidden folder's path in each example
NUMBERS = [0, 1, -1, 2, 3, 7, 0.5, -0.5, 1e-9, 2 ** 31, 2 ** 63, 10 ** 30, -(10 ** 9), 1e308,
           float("inf"), float("-inf"), float("nan"), 16384, 16385, 100000, True, False]
EXPRESSIONS = ["1/t", "t", "1 - t", "randint(1, 4)", "random()", "48 - 100*t", "epoch * 1000",
               "randint(0, 10**100)", "2**70", "9**9**9", "__import__('os')", "().__class__",
               "res[0]", "res[5]", "width / 0", "sim", "lr", "ts(0.5, 0.6)", "nan", "inf",
               "int(1e308)**4", "1" * 999, "log(0)", "sqrt(-1)", "x", "'a'", "lambda: 1",
               "[1, 2]", "1 if t else 0", "uniform(-1e9, 1e9)", "-1", "0.0"]
TEXTS = ["", " ", "a", "x" * 5000, "\x00", "\u2028", "null", "~", "../x.png", "/tmp/x.png",
         FORBIDDEN + "/x.png", FORBIDDEN + "/x.conf", FORBIDDEN + "/", "~/x.png", "out/",
         "out/x.png", "x.conf", "..", "missing.png", "/dev/zero", "http://example.com/a.png",
         "cuda", "cuda:7", "cpu", "auto", "ViT-B/32", "fill", "wrap", "all", "best", "mix",
         "cosine", "l1", "adam", "rmsprob", "30%", "150%", "-5%", "1e3", "0x10"]
LISTS = [[], [0], [0, 0], [1, 1], [-1, -1], [16384, 16384], [100000, 2], [0, 0, 0, 0],
         [1, 2, 3, 4, 5], [[1]], [None], ["t", "t"], [1e308, 1e308], [2, 3], [40, 32], [3, 3]]
LEAVES = NUMBERS + EXPRESSIONS + TEXTS + LISTS + [None, {}, {"a": 1}]


def leaf():
    # a copy: later mutations change lists in place, and the pool must stay as it is
    return st.sampled_from(LEAVES).map(copy.deepcopy)


# --- mutations on a parsed document ------------------------------------------------------------

def _containers(data, path=()):
    """Every (container, key) in a nested structure."""
    if isinstance(data, dict):
        for key in list(data):
            yield data, key
            yield from _containers(data[key], path + (key,))
    elif isinstance(data, list):
        for i in range(len(data)):
            yield data, i
            yield from _containers(data[i], path + (i,))


@st.composite
def mutated_document(draw, base):
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        spots = list(_containers(data))
        if not spots:
            break
        container, key = draw(st.sampled_from(spots))
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add", "wrap", "dup"]))
        if action == "set":
            container[key] = draw(leaf())
        elif action == "delete":
            del container[key]
        elif action == "add":
            if isinstance(container, dict):
                container[draw(st.sampled_from(["zz", "type", "params", "<<", "1", ""]))] = \
                    draw(leaf())
            else:
                container.append(draw(leaf()))
        elif action == "wrap":
            container[key] = [container[key]] if draw(st.booleans()) else {"v": container[key]}
        elif action == "dup" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
    return data


@st.composite
def mutated_text(draw, text: str):
    """Byte-level damage on a YAML text: cut it, splice in a line, flip characters."""
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["cut", "splice", "flip", "indent"]))
        at = draw(st.integers(0, max(0, len(text) - 1)))
        if action == "cut":
            text = text[:at]
        elif action == "splice":
            text = text[:at] + draw(st.sampled_from(
                ["\n", ":", "- ", "&a ", "*a", "<<: *a\n", "!!python/object:os.system ''\n",
                 "{", "[", "\t", "\"", "'", "? ", "%YAML 1.1\n", "---\n", "\x85", "#"])) + text[at:]
        elif action == "flip" and text:
            text = text[:at] + draw(st.characters(max_codepoint=0x2FF)) + text[at + 1:]
        elif action == "indent":
            text = text[:at] + "  " + text[at:]
    return text


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _graph_bases():
    return [yaml.safe_load(p.read_text()) for p in TEMPLATES]


def _legacy_bases():
    return [yaml.safe_load(text) for text in LEGACY_VALID.values()]


@st.composite
def mutated_params(draw, base):
    """A graph with one or two of its nodes' declared params changed: many stay valid, so
    they also run."""
    from clipig_nodes.registry import default_registry
    registry = default_registry()
    data = copy.deepcopy(base)
    nodes = [n for n in (data.get("nodes") or {}).values() if isinstance(n, dict)]
    for _ in range(draw(st.integers(1, 2))):
        node = draw(st.sampled_from(nodes))
        node_type = registry.get(node.get("type"))
        names = sorted(p.name for p in node_type.param_list) if node_type else ["x"]
        node.setdefault("params", {})[draw(st.sampled_from(names))] = draw(leaf())
    return data


@st.composite
def fuzz_input(draw):
    """(kind, file name, bytes)."""
    kind = draw(st.sampled_from(["params", "params", "graph", "legacy", "legacy", "png",
                                 "text"]))
    if kind == "params":
        kind = "graph"
        text = _dump(draw(mutated_params(draw(st.sampled_from(_GRAPH_BASES)))))
    elif kind in ("graph", "png"):
        base = draw(st.sampled_from(_GRAPH_BASES))
        text = _dump(draw(mutated_document(base)))
    elif kind == "legacy":
        base = draw(st.sampled_from(_LEGACY_BASES))
        text = _dump(draw(mutated_document(base)))
    else:
        source = draw(st.sampled_from(TEMPLATES + [None]))
        base = source.read_text() if source else draw(st.sampled_from(list(LEGACY_VALID.values())))
        text = draw(mutated_text(base))
        return "text", "input.yaml", text.encode("utf-8", "surrogatepass")
    if kind == "png":
        return "png", "input.png", draw(png_with(text))
    return kind, ("input.graph.yaml" if kind == "graph" else "input.yaml"), text.encode()


@st.composite
def png_with(draw, text: str):
    """A small PNG carrying `text` as its graph, then damaged at the chunk level."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 30)).save(buffer, format="PNG")
    data = buffer.getvalue()
    end = data.rindex(b"IEND") - 4
    key = draw(st.sampled_from([PNG_KEY, PNG_KEY, "other"]))
    how = draw(st.sampled_from(["itxt-z", "itxt", "ztxt", "text"]))
    raw = text.encode()
    if how == "itxt-z":
        body = key.encode() + b"\0\1\0\0\0" + zlib.compress(raw)
        kind = b"iTXt"
    elif how == "itxt":
        body, kind = key.encode() + b"\0\0\0\0\0" + raw, b"iTXt"
    elif how == "ztxt":
        body, kind = key.encode() + b"\0\0" + zlib.compress(raw), b"zTXt"
    else:
        body, kind = key.encode() + b"\0" + raw, b"tEXt"
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    data = data[:end] + chunk + data[end:]
    damage = draw(st.sampled_from(["none", "none", "cut", "flip", "length"]))
    if damage == "cut":
        data = data[:draw(st.integers(8, len(data) - 1))]
    elif damage == "flip":
        at = draw(st.integers(8, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
    elif damage == "length":
        data = data[:end] + struct.pack(">I", 0x7FFFFFF0) + data[end + 4:]
    return data


_GRAPH_BASES = _graph_bases()
_LEGACY_BASES = _legacy_bases()


# --- running a command in a forked child ---------------------------------------------------------

def run_forked(argv: list[str], cwd: Path) -> tuple[int, str, int]:
    """(exit code, stdout + stderr, peak RSS in bytes) of clipig_nodes.cli.main(argv), run in
    a forked child in `cwd`."""
    out_file = tempfile.TemporaryFile()
    # room for what is mapped already (torch) plus a generous margin: a runaway allocation
    # fails in the child instead of exhausting the machine
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    pid = os.fork()
    if pid == 0:         # the child: never returns
        code = 99
        try:
            os.dup2(out_file.fileno(), 1)
            os.dup2(out_file.fileno(), 2)
            sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), write_through=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
            resource.setrlimit(resource.RLIMIT_AS, (vm + 4 * 1024 ** 3, resource.RLIM_INFINITY))
            signal.signal(signal.SIGINT, signal.default_int_handler)
            os.chdir(cwd)
            import torch
            torch.set_num_threads(1)
            from clipig_nodes.cli import main
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 98
        except BaseException:        # noqa: BLE001 - what the property forbids: show it
            traceback.print_exc()
            code = 97
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code if isinstance(code, int) else 96)
    deadline = time.monotonic() + CHILD_SECONDS
    status = usage = None
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            out_file.seek(0)
            return -9, out_file.read().decode(errors="replace") + "\n[hang: killed]", 0
        time.sleep(0.01)
    out_file.seek(0)
    output = out_file.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    return code, output, usage.ru_maxrss * 1024


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")} if folder.exists() else {}


def check_outputs(out: Path) -> list[str]:
    """Problems with what a run left in `out` (empty list: all whole)."""
    problems = []
    for path in sorted(out.rglob("*")) if out.exists() else []:
        if path.is_dir():
            continue
        if path.stat().st_size == 0:
            problems.append(f"empty file {path.name}")
        elif path.name.endswith(".graph.yaml"):
            image = path.with_name(path.name[: -len(".graph.yaml")] + ".png")
            try:
                if load_graph(path) != read_png_graph(image):
                    problems.append(f"{path.name} does not describe {image.name}")
            except Exception as exc:        # noqa: BLE001
                problems.append(f"{path.name}: {exc}")
        elif path.suffix == ".png":
            try:
                with Image.open(path) as im:
                    im.verify()
                read_png_graph(path)
            except Exception as exc:        # noqa: BLE001
                problems.append(f"{path.name}: {exc}")
        else:
            problems.append(f"unexpected file {path.name}")
    return problems


class Tally:
    def __init__(self):
        self.inputs = self.runs = self.valid = 0
        self.peak = 0
        self.seconds = 0.0
        self.failures: dict[str, tuple[int, str]] = {}     # kind of failure -> (count, first)

    def fail(self, message: str) -> None:
        # one entry per kind (the error line without numbers and paths), with a reproducer
        lines = [line for line in message.splitlines() if "error" in line.lower()]
        key = re.sub(r"[0-9]+|/\S+", "#", (lines[-1] if lines else message.splitlines()[0]))[:160]
        count, first = self.failures.get(key, (0, message))
        self.failures[key] = (count + 1, first)
        if count == 0:       # a long run shows each new kind as it is found
            print(f"fuzz failure: {key}\n{message}\n", file=sys.stderr, flush=True)


TALLY = Tally()


def check_one(kind: str, name: str, data: bytes, tiny_clip: str, base: Path,
              without_o: bool) -> None:
    sandbox = Path(tempfile.mkdtemp(dir=base))
    inputs, work, forbidden, out = (sandbox / n for n in ("in", "work", "forbidden", "out"))
    for folder in (inputs, work, forbidden):
        folder.mkdir()
    data = data.replace(FORBIDDEN.encode(), str(forbidden).encode())
    path = inputs / name
    path.write_bytes(data)
    before = {n: snapshot(f) for n, f in (("in", inputs), ("forbidden", forbidden))}
    TALLY.inputs += 1
    started = time.monotonic()

    def run(argv, cwd):
        code, output, peak = run_forked(argv, cwd)
        TALLY.peak = max(TALLY.peak, peak)
        where = f"{kind} input {name}:\n{data[:3000]!r}\n$ {' '.join(argv)}\n{output[-3000:]}"
        assert code in ALLOWED_CODES, f"exit code {code}: {where}"
        assert "Traceback" not in output, where
        assert "internal error" not in output, where
        assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.0f} MB: {where}"
        return code

    code = run(["validate", str(path)], work)
    if code == 0:
        TALLY.valid += 1
        TALLY.runs += 1
        argv = ["run", str(path), "--model", tiny_clip, "--device", "cpu", "--epochs", "1",
                "-v", "0"]
        if not without_o:
            argv[2:2] = ["-o", f"{out}/"]
        run(argv, work)
    for label, folder in (("in", inputs), ("forbidden", forbidden)):
        assert snapshot(folder) == before[label], f"{label} folder changed by {kind} input"
    if not without_o:
        assert snapshot(work) == {}, f"files written outside -o: {sorted(snapshot(work))}"
    problems = check_outputs(out if not without_o else work)
    assert not problems, f"{problems} after {kind} input:\n{data[:3000]!r}"
    TALLY.seconds += time.monotonic() - started
    if TALLY.inputs % 250 == 0:        # progress of a long run
        print(f"fuzz progress: {TALLY.inputs} inputs, {TALLY.valid} run, "
              f"{sum(c for c, _ in TALLY.failures.values())} failed, peak "
              f"{TALLY.peak / 2**20:.0f} MB", file=sys.stderr, flush=True)


def test_fuzz_commands_on_mutated_files(tiny_clip, tmp_path_factory, request):
    examples = request.config.getoption("--fuzz-examples") or CI_EXAMPLES
    base = tmp_path_factory.mktemp("fuzz")

    @settings(max_examples=examples, deadline=None, derandomize=examples == CI_EXAMPLES,
              suppress_health_check=list(HealthCheck), database=None)
    @given(fuzz_input(), st.booleans())
    def fuzz(item, without_o):
        kind, name, data = item
        try:
            check_one(kind, name, data, tiny_clip, base, without_o)
        except AssertionError as exc:      # collected: one run shows every kind of failure
            TALLY.fail(str(exc))

    warm_up(tiny_clip, base)
    fuzz()
    failed = sum(count for count, _ in TALLY.failures.values())
    print(f"\nfuzz: {TALLY.inputs} inputs, {TALLY.valid} valid and run, {failed} failed "
          f"({len(TALLY.failures)} kinds), peak RSS {TALLY.peak / 2**20:.0f} MB, "
          f"{TALLY.seconds:.0f} s", file=sys.stderr)
    report = "\n\n".join(f"[{count}x] {key}\n{first}"
                          for key, (count, first) in TALLY.failures.items())
    assert not TALLY.failures, report
    assert TALLY.inputs >= min(examples, 10)


def warm_up(tiny_clip: str, base: Path) -> None:
    """Load in this process what every command loads (modules, the node registry), so each
    forked child starts warm: the children then cost what the command costs."""
    from clipig_nodes.cli import main
    folder = Path(tempfile.mkdtemp(dir=base))
    template = str(ROOT / "graphs" / "strawberries.graph.yaml")
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        main(["validate", template])
        main(["run", template, "-o", f"{folder}/", "--model", tiny_clip, "--device", "cpu",
              "--epochs", "1", "-v", "0"])
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        signal.signal(signal.SIGINT, signal.default_int_handler)
