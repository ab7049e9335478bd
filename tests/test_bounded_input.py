"""Reading input is bounded in memory and time: YAML aliases and merge keys, PNG text
chunks in total, devices and FIFOs. Each case runs the real CLI in a subprocess under an
address-space limit, so a blow-up shows as a failure, not as a slow machine."""

import os
import resource
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from clipig_nodes.graph.pngmeta import PNG_KEY, encode_png, read_png_text
from clipig_nodes.problems import ProblemsError
from clipig_nodes.yamlio import MAX_NODES, YamlError, load_yaml, read_text

from .graph_builders import minimal

ROOT = Path(__file__).resolve().parent.parent
MEMORY_CAP = 2 * 1024 ** 3       # the goal: no input takes a command above 2 GB


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          preexec_fn=_cap_memory)


def merge_bomb(levels: int) -> str:
    lines = ["m0: &m0 {a: 1, b: 2}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_merge_key_doubling_is_refused_before_it_expands():
    started = time.monotonic()
    with pytest.raises(YamlError, match="too much data"):
        load_yaml(merge_bomb(40))         # 2**40 keys once merged
    assert time.monotonic() - started < 2


def test_ordinary_merge_keys_and_aliases_still_work():
    data, _ = load_yaml("base: &b {x: 1, y: 2}\nother: {<<: *b, z: 3}\nlist: [*b, *b]\n")
    assert data["other"] == {"x": 1, "y": 2, "z": 3} and data["list"] == [data["base"]] * 2


def test_a_value_containing_itself_is_refused():
    with pytest.raises(YamlError, match="contains it"):
        load_yaml("a: &a [1, *a]\n")


def test_the_limit_counts_expanded_values():
    fan = 1 + MAX_NODES // 1000      # 1000-item lists referenced from one line each
    text = "a: &a [" + ", ".join(["1"] * 999) + "]\nb: [" + ", ".join(["*a"] * fan) + "]\n"
    with pytest.raises(YamlError, match="too much data"):
        load_yaml(text)


@pytest.mark.parametrize("kind", ["graph", "legacy", "png"])
def test_bombs_end_in_one_message_through_every_command(tmp_path, kind):
    bomb = merge_bomb(40)
    if kind == "graph":
        path = tmp_path / "bomb.graph.yaml"
        path.write_text("format: clipig-nodes-graph\nversion: 2\nx:\n"
                        + "".join(f"  {line}\n" for line in bomb.splitlines()) + "nodes: {}\n")
    elif kind == "legacy":
        path = tmp_path / "bomb.yaml"
        path.write_text(bomb + "epochs: 10\n")
    else:
        path = tmp_path / "bomb.png"
        path.write_bytes(_png_with_chunks([_itxt(PNG_KEY, bomb)], graph=False))
    for args in (["validate", path], ["convert", path, tmp_path / "out.graph.yaml"],
                 ["run", path, "-o", tmp_path / "o.png", "--device", "cpu"]):
        out = cli(*args)
        assert out.returncode == 1, (args, out.stderr)
        assert "too much data" in out.stderr and "Traceback" not in out.stderr
        assert "internal error" not in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


# --- PNG text chunks ----------------------------------------------------------------------------

def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _ztxt(key: str, text: bytes) -> bytes:
    return _chunk(b"zTXt", key.encode() + b"\0\0" + zlib.compress(text, 9))


def _itxt(key: str, text: str) -> bytes:
    return _chunk(b"iTXt", key.encode() + b"\0\0\0\0\0" + text.encode())


def _png_with_chunks(chunks, graph=True) -> bytes:
    import io
    from PIL import Image
    if graph:
        data = encode_png(Image.new("RGB", (4, 4)), minimal())
    else:
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buffer, format="PNG")
        data = buffer.getvalue()
    end = data.rindex(b"IEND") - 4
    return data[:end] + b"".join(chunks) + data[end:]


def test_png_text_is_capped_in_total_not_only_per_chunk(tmp_path):
    # 100 chunks of 1 MB each (1 KB compressed): each is under the per-chunk cap
    chunks = [_ztxt(f"k{i}", b"\0" * 2 ** 20) for i in range(100)]
    path = tmp_path / "many.png"
    path.write_bytes(_png_with_chunks(chunks))
    assert path.stat().st_size < 200_000
    with pytest.raises(ProblemsError, match="too much text"):
        read_png_text(path)
    out = cli("validate", path)
    assert out.returncode == 1 and "too much text" in out.stderr, out.stderr


def test_png_with_a_few_text_chunks_still_reads(tmp_path):
    path = tmp_path / "fine.png"
    path.write_bytes(_png_with_chunks([_ztxt("note", b"hello" * 100)]))
    texts = read_png_text(path)
    assert texts["note"] == "hello" * 100 and PNG_KEY in texts


# --- devices, FIFOs, huge files -----------------------------------------------------------------

def test_devices_are_refused_without_reading_them():
    for command in ("validate", "convert"):
        args = [command, "/dev/zero"] + (["-"] if command == "convert" else [])
        out = cli(*args, timeout=30)
        assert out.returncode == 1 and "not a regular file" in out.stderr, out.stderr
    with pytest.raises(YamlError, match="not a regular file"):
        read_text("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.graph.yaml"
    os.mkfifo(fifo)
    for args in (["validate", fifo], ["run", fifo, "-o", tmp_path / "x.png"],
                 ["convert", fifo, "-"]):
        out = cli(*args, timeout=30)
        assert out.returncode == 1 and "not a regular file" in out.stderr, out.stderr


def test_huge_files_are_refused_by_size(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.write(b"epochs: 10\n# " + b"x" * (64 * 2 ** 20) + b"\n")
    out = cli("validate", path)
    assert out.returncode == 1 and "too large" in out.stderr, out.stderr


def test_a_path_too_long_for_the_file_system_is_a_missing_file(tmp_path):
    # found by tests/test_fuzz.py: Path.is_file() raises ENAMETOOLONG instead of saying no
    import yaml
    data = yaml.safe_load((ROOT / "graphs" / "strawberries.graph.yaml").read_text())
    data["nodes"]["pixels"].setdefault("params", {})["init_image"] = "x" * 5000
    path = tmp_path / "long.graph.yaml"
    path.write_text(yaml.safe_dump(data))
    out = cli("validate", path)
    assert out.returncode == 1 and "file not found" in out.stderr, out.stderr
    assert "internal error" not in out.stderr and len(out.stderr) < 1000
