"""The graph inside PNGs: embed, read back, never overwrite, and fail clearly."""

from __future__ import annotations

import struct
import threading
import zlib
from pathlib import Path

import pytest
from PIL import Image

from clipig_nodes.graph.fileformat import dumps_graph
from clipig_nodes.graph.model import Graph
from clipig_nodes.graph.pngmeta import (PNG_KEY, free_path, read_png_graph, read_png_text,
                                        reserve_path, save_png)
from clipig_nodes.problems import ProblemsError


def demo_graph() -> Graph:
    g = Graph("a red square, ünïcödé")
    g.add_node("pixels", "pixels", {"resolution": [64, 48], "init_mean": [0.4, 0.4, 0.4]}, (40, 80))
    g.add_node("blur", "blur", {"kernel_size": 3}, (300, 80.5))
    g.add_node("target", "target")
    g.connect("pixels", "image", "blur", "image")
    g.connect("blur", "image", "target", "image")
    return g


def image() -> Image.Image:
    return Image.new("RGB", (64, 48), (200, 30, 30))


def one_problem(call, *args) -> str:
    with pytest.raises(ProblemsError) as info:
        call(*args)
    [problem] = info.value.problems
    return str(problem)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_graph_round_trip(tmp_path):
    path = tmp_path / "out.png"
    save_png(image(), path, demo_graph())
    assert read_png_graph(path) == demo_graph()
    with Image.open(path) as im:          # still an ordinary PNG with the same pixels
        assert im.format == "PNG" and im.size == (64, 48)
        assert im.getpixel((10, 10)) == (200, 30, 30)
        assert im.text[PNG_KEY] == dumps_graph(demo_graph())
    assert list(tmp_path.iterdir()) == [path]


def test_extra_chunks(tmp_path):
    path = tmp_path / "out.png"
    run = "clipig-nodes 0.1.0\nepoch 300 of 300, loss 0.25\nprompt: fraises ü"
    save_png(image(), path, demo_graph(), {"clipig-nodes-run": run, "Software": "clipig-nodes"})
    texts = read_png_text(path)
    assert texts["clipig-nodes-run"] == run and texts["Software"] == "clipig-nodes"
    assert texts[PNG_KEY] == dumps_graph(demo_graph())


def test_bad_extra_keys_are_refused(tmp_path):
    for key in ("", "x" * 80, PNG_KEY, " padded", "a\0b"):
        with pytest.raises(ValueError):
            save_png(image(), tmp_path / "x.png", demo_graph(), {key: "v"})
    assert not list(tmp_path.iterdir())


def test_never_overwrites(tmp_path):
    path = tmp_path / "demo.png"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        save_png(image(), path, demo_graph())
    with pytest.raises(FileExistsError):          # not empty, so not a reservation
        save_png(image(), path, demo_graph(), overwrite_reserved=True)
    assert path.read_bytes() == b"precious"
    assert list(tmp_path.iterdir()) == [path]


def test_free_path_numbering(tmp_path):
    assert free_path(tmp_path / "demo.png") == tmp_path / "demo.png"
    (tmp_path / "demo.png").write_bytes(b"")
    assert free_path(tmp_path / "demo.png") == tmp_path / "demo-1.png"
    (tmp_path / "demo-1.png").write_bytes(b"")
    (tmp_path / "demo-3.png").write_bytes(b"")
    assert free_path(tmp_path / "demo.png") == tmp_path / "demo-2.png"


def test_reserve_then_save(tmp_path):
    (tmp_path / "demo.png").write_bytes(b"old")
    path = reserve_path(tmp_path / "demo.png")
    assert path == tmp_path / "demo-1.png" and path.read_bytes() == b""
    assert reserve_path(tmp_path / "demo.png") == tmp_path / "demo-2.png"
    save_png(image(), path, demo_graph(), overwrite_reserved=True)
    assert read_png_graph(path) == demo_graph()
    assert (tmp_path / "demo.png").read_bytes() == b"old"
    with pytest.raises(FileExistsError):          # written now: no longer a reservation
        save_png(image(), path, demo_graph(), overwrite_reserved=True)


def test_reserve_from_many_threads(tmp_path):
    barrier = threading.Barrier(8)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(reserve_path(tmp_path / "demo.png"))
        except Exception as exc:         # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["demo.png"] + [f"demo-{i}.png" for i in range(1, 8)])


def test_not_a_png(tmp_path):
    path = tmp_path / "x.png"
    path.write_text("format: clipig-nodes-graph\n")
    assert one_problem(read_png_graph, path) == f"{path}: not a PNG file"
    assert "no such file" in one_problem(read_png_graph, tmp_path / "missing.png")
    assert "folder" in one_problem(read_png_graph, tmp_path)


def test_png_without_graph(tmp_path):
    path = tmp_path / "x.png"
    image().save(path)
    assert read_png_text(path) == {}
    assert one_problem(read_png_graph, path) == f"{path}: no clipig-nodes graph in this PNG"


def test_truncated_png(tmp_path):
    path = tmp_path / "x.png"
    save_png(image(), path, demo_graph())
    data = path.read_bytes()
    for cut in (4, 8, 20, len(data) // 2, len(data) - 5):
        path.write_bytes(data[:cut])
        message = one_problem(read_png_graph, path)
        assert message.startswith(f"{path}: ") and ("truncated" in message or "not a PNG" in message)


def test_damaged_text_chunk(tmp_path):
    path = tmp_path / "x.png"
    save_png(image(), path, demo_graph())
    data = bytearray(path.read_bytes())
    at = data.index(PNG_KEY.encode()) + len(PNG_KEY) + 10
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    assert "damaged" in one_problem(read_png_graph, path)


def test_text_chunk_kinds_and_broken_graph(tmp_path):
    """tEXt and zTXt are read too; a graph that does not load is reported against the PNG."""
    source = tmp_path / "plain.png"
    image().save(source)
    raw = source.read_bytes()
    iend = raw.rindex(b"IEND") - 4
    graph_text = "format: clipig-nodes-graph\nversion: 2\nnodes:\n  a: {type: [x]}\n"
    extra = (chunk(b"tEXt", b"Comment\0caf\xe9")
             + chunk(b"zTXt", b"Title\0\0" + zlib.compress(b"compressed"))
             + chunk(b"iTXt", PNG_KEY.encode() + b"\0\0\0en\0\0" + graph_text.encode()))
    path = tmp_path / "x.png"
    path.write_bytes(raw[:iend] + extra + raw[iend:])
    texts = read_png_text(path)
    assert texts["Comment"] == "café" and texts["Title"] == "compressed"
    with pytest.raises(ProblemsError) as info:
        read_png_graph(path)
    [problem] = info.value.problems
    assert problem.source == str(path) and problem.path == "nodes.a.type" and problem.line == 4


def test_graph_layer_imports_without_pil():
    import subprocess
    import sys
    code = ("import sys, clipig_nodes.graph.pngmeta, clipig_nodes.graph.fileformat; "
            "assert 'PIL' not in sys.modules and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
