"""YAML reading with line numbers and duplicate-key detection, and atomic writes.

PyYAML's safe_load silently keeps the last of two equal keys and forgets where
each value stood. Both matter here: a graph file with two nodes of the same id
must be an error, and a config error should name its line. `load_yaml` returns
plain dicts/lists (subclasses that remember the line of each key and item) and
the duplicate keys it saw; it raises YamlError, never a PyYAML exception.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

import yaml


class YamlError(ValueError):
    """Unreadable YAML; str() says where (file:line) and what."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class LineDict(dict):
    """A mapping that remembers the 1-based line of each key."""

    key_lines: dict
    line: int | None = None


class LineList(list):
    """A list that remembers the 1-based line of each item."""

    item_lines: list
    line: int | None = None


def line_of(container, key) -> int | None:
    """Line of a key in a LineDict or an index in a LineList; None when unknown."""
    if isinstance(container, LineDict):
        return container.key_lines.get(key)
    if isinstance(container, LineList) and isinstance(key, int) and 0 <= key < len(container.item_lines):
        return container.item_lines[key]
    return None


class _Loader(yaml.SafeLoader):
    """SafeLoader building LineDict/LineList and recording duplicate keys."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_yaml_map(self, node):
        data = LineDict()
        data.key_lines = {}
        data.line = node.start_mark.line + 1
        yield data
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value, not a list or mapping",
                    key_node.start_mark) from None
            if key in data:
                self.duplicates.append((str(key), key_node.start_mark.line + 1))
            data[key] = self.construct_object(value_node, deep=True)
            data.key_lines[key] = key_node.start_mark.line + 1

    def construct_yaml_seq(self, node):
        data = LineList()
        data.line = node.start_mark.line + 1
        data.item_lines = [item.start_mark.line + 1 for item in node.value]
        yield data
        data.extend(self.construct_object(item, deep=True) for item in node.value)


    def construct_yaml_int(self, node):
        # Python refuses to convert ints of over 4300 digits; keep such a scalar as its
        # text, so the param that reads it reports "a 5000-digit number is too large"
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            text = self.construct_scalar(node)
            if _LONG_INT.match(text):
                return text
            raise                   # `!!int abc` stays an error, reported as one


_LONG_INT = re.compile(r"^[-+]?[0-9][0-9_]*$")
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_yaml_seq)

MAX_BYTES = 2 * 1024 * 1024    # a graph or config is a few KB; refuse to parse huge inputs
MAX_NODES = 250_000            # YAML values after expanding aliases and merge keys


def _expanded_size(root, limit: int = MAX_NODES) -> int:
    """How many YAML nodes `root` stands for once every alias and merge key is expanded.

    Aliases share one composed node, so a 600-byte file (`<<: [*m0, *m0]` per line)
    can stand for billions of values; PyYAML would build them all while flattening
    merge keys, whatever its version. Counted on the composed nodes (linear in the
    file), memoised per node, and stopped as soon as it passes `limit`.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise YamlError("invalid YAML: an alias refers to a value that contains it")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                total += size(key_node) + size(value_node)
                if total > limit:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item)
                if total > limit:
                    break
        open_nodes.discard(key)
        if total > limit:
            raise YamlError(f"invalid YAML: too much data once aliases and merge keys are "
                            f"expanded (more than {limit:,} values)")
        sizes[key] = total
        return total

    return size(root)


def load_yaml(text: str) -> tuple[object, list[tuple[str, int]]]:
    """Parse YAML text; returns (data, [(duplicate key, line), ...]). Raises YamlError."""
    if len(text) > MAX_BYTES:
        raise YamlError(f"file is too large ({len(text)} bytes; a graph or config is a few KB)")
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None, loader.duplicates
        _expanded_size(node)        # before constructing: merge keys expand while constructing
        return loader.construct_document(node), loader.duplicates
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        raise YamlError(f"invalid YAML: {what}", line) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise YamlError("invalid YAML: nested too deeply") from None
    except Exception as exc:
        # PyYAML's constructors raise plain ValueError/KeyError/... on values such as
        # `2001-13-45` or `!!int x`; the promise is one clear error, never a traceback.
        raise YamlError(f"invalid YAML value: {type(exc).__name__}: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


class NotRegularFile(OSError):
    """An input that is a device, FIFO or socket: reading it could block or never end."""


def open_regular(path: str | os.PathLike):
    """Open a file for reading in binary, only if it is a regular file.

    Opened without blocking (a FIFO with no writer would block open() itself), then
    checked on the open descriptor, so what is checked is what is read. Raises
    NotRegularFile (an OSError whose strerror says what the file is), or the OSError.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a folder, not a file", str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFile(0, "not a regular file (a device, FIFO or socket); "
                                    "give a file", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; YamlError (with the path)
    for a larger file. Never reads more than limit + 1 bytes, whatever stat says."""
    with open_regular(path) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise YamlError(f"{path}: file is too large (more than {limit // 1024 // 1024} MB; "
                        "a graph or config is a few KB)")
    return data


def read_text(path: str | os.PathLike) -> str:
    """Read a UTF-8 text file; OSError/UnicodeDecodeError become YamlError with the path."""
    path = Path(path)
    try:
        return read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        raise YamlError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise YamlError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise YamlError(f"{path}: not a UTF-8 text file") from None
    except NotRegularFile as exc:
        raise YamlError(f"{path}: {exc.strerror}") from None
    except OSError as exc:
        raise YamlError(f"{path}: cannot read: {exc.strerror or exc}") from None


def dump_yaml(data) -> str:
    """Readable block-style YAML in insertion order (plain dicts/lists only)."""
    return yaml.dump(_plain(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_list(dumper, data):
    # short lists of scalars read best inline: resolution: [512, 512]
    flow = len(data) <= 8 and all(isinstance(v, (int, float, bool)) or v is None
                                  or (isinstance(v, str) and len(v) <= 16) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper, data):
    # PyYAML writes some line-break characters (NEL, LS, PS) unquoted inside single
    # quotes, where YAML reads them back as spaces: double quotes keep them exact.
    if any(c in data for c in "\x85\u2028\u2029"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_str(data)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)


def _plain(data):
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unnamed_file(folder: Path) -> int | None:
    """A descriptor of a file with no name yet in `folder` (Linux O_TMPFILE): a process
    killed before the file gets its name leaves nothing behind. None where the OS or the
    file system has no such files."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY, 0o666)     # the umask applies
    except OSError:
        return None


def _fill(fd: int, payload: bytes) -> None:
    with os.fdopen(fd, "wb", closefd=False) as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())


def _name_unnamed(fd: int, path: Path) -> None:
    """Give the unnamed file its name; FileExistsError when the name is taken.

    linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N; os.link calls linkat only with a dir_fd
    (plain link() would link the /proc entry itself and fail across devices)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(str(fd), path, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


def _temp_name(folder: Path, name: str) -> Path:
    return folder / f".{name}.{secrets.token_hex(4)}.tmp"


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half.

    The content goes to a temporary file in the same folder, is flushed to disk,
    then renamed over the target (an atomic step on POSIX and Windows). On Linux the
    temporary file has no name while it is written, so a process killed meanwhile
    leaves no litter; it is named only for the rename.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = path.parent if str(path.parent) else Path(".")
    tmp = _temp_name(folder, path.name)
    if not _link_unnamed(folder, payload, tmp):
        tmp = _named_temp(folder, path.name, payload)
    _replace_or_remove(tmp, path)


def _link_unnamed(folder: Path, payload: bytes, path: Path) -> bool:
    """Write `payload` into a file with no name and link it as `path`; FileExistsError
    when `path` is taken, False where the OS has no unnamed files (use _named_temp)."""
    fd = _unnamed_file(folder)
    if fd is None:
        return False
    try:
        _fill(fd, payload)
        try:
            _name_unnamed(fd, path)
        except FileExistsError:
            raise
        except OSError:        # no links from /proc here
            return False
        return True
    finally:
        os.close(fd)


def _named_temp(folder: Path, name: str, payload: bytes) -> str:
    """A hidden temporary file in `folder` holding `payload`, with the usual file mode."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes 0600
        _fill(fd, payload)
    except BaseException:
        os.close(fd)
        _remove(tmp)
        raise
    os.close(fd)
    return tmp


def _replace_or_remove(tmp, path) -> None:
    try:
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_new(path: str | os.PathLike, data: bytes | str) -> None:
    """Create `path` with `data`, complete or not at all; FileExistsError when the name is
    taken by anything (a file, a folder, a symbolic link, even a dangling one).

    The content is written to a file with no name (Linux) or a temporary one first, then
    hard-linked to the name: the link is atomic and fails on an existing name, so the name
    is claimed and filled in one step (two writers racing for one name: one wins, the
    other gets FileExistsError; a crash leaves no empty or half file, and on Linux no
    temporary one). Where the file system has no hard links, the name is claimed with
    O_EXCL and the content renamed over it.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = path.parent if str(path.parent) else Path(".")
    if _link_unnamed(folder, payload, path):
        return
    tmp = _named_temp(folder, path.name, payload)
    try:
        link_new(tmp, path)
    finally:
        _remove(tmp)


def link_new(src: str | os.PathLike, path: str | os.PathLike) -> None:
    """Give the whole file `src` the new name `path` too; FileExistsError when `path` is
    taken. A hard link, atomic; where the file system has none, the name is claimed with
    O_EXCL and `src` moved over it (then `src` is gone)."""
    try:
        os.link(src, path)
    except FileExistsError:
        raise
    except OSError:        # no hard links here (FAT, some network file systems)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        os.replace(src, path)
