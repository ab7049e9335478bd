"""The graph inside PNGs: every image the engine writes carries the graph that made it.

The graph's YAML (the same text as a `.graph.yaml` file) goes into a compressed
iTXt chunk under PNG_KEY, so dropping an output PNG on the editor reopens the
graph, and `main.py run image.png` repeats the run.

Never overwriting an image is a promise of the tool (DESIGN.md). The pieces:

- `free_path(path)`: `name.png`, else `name-1.png`, `name-2.png`, ... the first
  name that does not exist. Fine for one writer.
- `reserve_path(path)`: the same numbering, but the name is claimed by creating
  an empty file with O_CREAT|O_EXCL, which the OS grants to one caller only. Two
  runs (or threads) saving at once get different names.
- `save_png(..., overwrite_reserved=False)`: refuses an existing file with
  FileExistsError. With `overwrite_reserved=True` it may replace the file only if
  it is empty, i.e. a reservation; a file with content is still refused.
- `save_png_new(image, path, graph)`: encodes first, then claims the first free
  numbered name and fills it in one step (yamlio.write_new). Racing writers get
  different names, and an interruption leaves no empty file: prefer it to
  reserve_path wherever the bytes can be made before the name is needed.

The write itself encodes into memory and goes through yamlio.write_atomic, so
a crash leaves no half image. (Without a reservation, a file created by someone
else between the existence check and the rename would be replaced; writers
that may race use save_png_new.) A crash between reserve_path and save_png
leaves an empty file behind, never a lost image.

Reading does not use PIL: a few lines walk the PNG chunks directly, which is
fast (image data is skipped, not decoded), keeps `graph` importable without
PIL, and tells a damaged or truncated file apart from one without a graph.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

from ..problems import Problem, ProblemsError
from ..yamlio import MAX_BYTES, NotRegularFile, open_regular, write_atomic, write_new
from .fileformat import PNG_SIGNATURE, dumps_graph, loads_graph
from .model import Graph

PNG_KEY = "clipig-nodes-graph"
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
MAX_TEXT = MAX_BYTES      # all text chunks of one PNG together, decompressed (a graph is a few KB)


# --- names ------------------------------------------------------------------------------------------

def numbered(path: Path, n: int) -> Path:
    """`path` itself for n = 0, else name-n.suffix: how every writer numbers a taken name."""
    return path if n == 0 else path.with_name(f"{path.stem}-{n}{path.suffix}")


def free_path(path) -> Path:
    """The first of `name.png`, `name-1.png`, `name-2.png`, ... that does not exist."""
    path, n = Path(path), 0
    while os.path.lexists(numbered(path, n)):
        n += 1
    return numbered(path, n)


def reserve_path(path) -> Path:
    """Like free_path, but atomically claims the name by creating an empty file
    (O_CREAT|O_EXCL), so concurrent callers never get the same one. Write it with
    save_png(..., overwrite_reserved=True)."""
    path, n = Path(path), 0
    while True:
        candidate = numbered(path, n)
        try:
            fd = os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            n += 1
            continue
        os.close(fd)
        return candidate


# --- writing ----------------------------------------------------------------------------------------

def encode_png(image, graph: Graph, extra: dict[str, str] | None = None) -> bytes:
    """PNG bytes of `image` (a PIL Image, or anything with `.save(fp, format="PNG",
    pnginfo=...)`) carrying `graph` and the `extra` text chunks (e.g. "clipig-nodes-run").
    ValueError for an unusable chunk key."""
    from PIL.PngImagePlugin import PngInfo

    texts = {PNG_KEY: dumps_graph(graph)}
    for key, value in (extra or {}).items():
        _check_key(key)
        if key in texts:
            raise ValueError(f"text chunk key '{key}' is used for the graph")
        texts[key] = str(value)
    info = PngInfo()
    for key, value in texts.items():
        info.add_itxt(key, value, zip=True)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def save_png(image, path, graph: Graph, extra: dict[str, str] | None = None, *,
             overwrite_reserved: bool = False) -> None:
    """Write `image` as a PNG carrying `graph` (see encode_png), atomically.

    Raises FileExistsError when `path` exists, unless `overwrite_reserved` and it is
    an empty file made by reserve_path. (A run rewriting its own output with
    snapshots writes encode_png's bytes with yamlio.write_atomic itself.)
    """
    path = Path(path)
    data = encode_png(image, graph, extra)
    if os.path.lexists(path):
        reserved = (overwrite_reserved and path.is_file() and not path.is_symlink()
                    and path.stat().st_size == 0)
        if not reserved:
            raise FileExistsError(f"{path}: exists; an image is never overwritten")
    write_atomic(path, data)


def save_png_new(image, path, graph: Graph, extra: dict[str, str] | None = None) -> Path:
    """Write `image` (see encode_png) under the first free one of `name.png`, `name-1.png`,
    ... and return that path. The name is claimed with the whole file in one step."""
    return write_numbered(path, encode_png(image, graph, extra))


def write_numbered(path, data) -> Path:
    """A new file under the first free numbered form of `path` (see save_png_new). `data`:
    the bytes, or a function of the path giving them (for files that name themselves)."""
    path, n = Path(path), 0
    while True:
        candidate = numbered(path, n)
        try:
            write_new(candidate, data(candidate) if callable(data) else data)
        except FileExistsError:
            n += 1
            continue
        return candidate


def _check_key(key) -> None:
    """PNG text keys: 1 to 79 Latin-1 printable characters, no leading/trailing/double spaces."""
    ok = (isinstance(key, str) and 1 <= len(key) <= 79 and key == key.strip() and "  " not in key
          and all(32 <= ord(c) <= 126 or 161 <= ord(c) <= 255 for c in key))
    if not ok:
        raise ValueError(f"{key!r} cannot be a PNG text key (1-79 Latin-1 letters, no edge spaces)")


# --- reading ----------------------------------------------------------------------------------------

def read_png_graph(path) -> Graph:
    """The graph embedded in a PNG. ProblemsError when the file is no PNG, is damaged
    or truncated, or carries no graph; graph errors are reported against the PNG."""
    texts = read_png_text(path)
    if PNG_KEY not in texts:
        raise ProblemsError([Problem("no clipig-nodes graph in this PNG", source=str(path))],
                            "cannot load graph")
    return loads_graph(texts[PNG_KEY], source=str(path))


def read_png_text(path) -> dict[str, str]:
    """All text chunks (tEXt, zTXt, iTXt) of a PNG, key -> text; the first wins
    when a key repeats. ProblemsError for a missing, non-PNG, damaged or truncated file."""
    path = Path(path)

    def fail(message):
        raise ProblemsError([Problem(message, source=str(path))], "cannot read PNG")

    try:
        with open_regular(path) as f:      # a FIFO or device would block or never end
            size = os.fstat(f.fileno()).st_size
            if f.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                fail("not a PNG file")
            texts: dict[str, str] = {}
            budget = MAX_TEXT      # decompressed text left: many chunks must not add up to GBs
            while True:
                head = f.read(8)
                if len(head) < 8:
                    fail("the PNG is truncated (no end chunk)")
                length, kind = struct.unpack(">I4s", head)
                if length > 0x7FFFFFFF or f.tell() + length + 4 > size:
                    fail("the PNG is truncated or damaged")
                if kind == b"IEND":
                    return texts
                if kind not in _TEXT_CHUNKS:
                    f.seek(length + 4, os.SEEK_CUR)        # image data: skip, do not decode
                    continue
                if length > budget:
                    fail(f"too much text in the PNG's chunks (more than {MAX_TEXT // 2**20} MB)")
                body, crc = f.read(length), f.read(4)
                if struct.unpack(">I", crc)[0] != zlib.crc32(kind + body):
                    fail(f"damaged {kind.decode()} chunk (checksum mismatch)")
                try:
                    key, text, used = _decode_text(kind, body, budget)
                except (ValueError, zlib.error) as exc:
                    fail(f"damaged {kind.decode()} chunk: {exc}")
                budget -= used
                texts.setdefault(key, text)
    except FileNotFoundError:
        fail("no such file")
    except IsADirectoryError:
        fail("is a folder, not a file")
    except NotRegularFile as exc:
        fail(exc.strerror)
    except OSError as exc:
        fail(f"cannot read: {exc.strerror or exc}")


def _decode_text(kind: bytes, body: bytes, budget: int) -> tuple[str, str, int]:
    """One text chunk -> (key, text, bytes of text); ValueError when malformed or when
    its text is longer than `budget` bytes."""
    key, sep, rest = body.partition(b"\0")
    if not sep or not 1 <= len(key) <= 79:
        raise ValueError("bad key")
    if kind == b"tEXt":
        return key.decode("latin-1"), rest.decode("latin-1"), len(body)
    if kind == b"zTXt":
        if not rest or rest[0] != 0:
            raise ValueError("unknown compression")
        data = _inflate(rest[1:], budget)
        return key.decode("latin-1"), data.decode("latin-1"), len(data)
    # iTXt: flag, method, language \0, translated key \0, UTF-8 text
    if len(rest) < 2:
        raise ValueError("too short")
    compressed, method = rest[0], rest[1]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        raise ValueError("missing language or translated key")
    data = parts[2]
    if compressed:
        if method != 0:
            raise ValueError("unknown compression")
        data = _inflate(data, budget)
    return key.decode("latin-1"), data.decode("utf-8"), len(data)


def _inflate(data: bytes, limit: int) -> bytes:
    """zlib.decompress with a size limit (a tiny chunk can inflate to gigabytes)."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise ValueError(f"too much text in the PNG's chunks (more than {MAX_TEXT // 2**20} MB)")
    return out
