"""Files behind the editor: the open document, templates, recent files and the
recovery file autosave writes. No Dear PyGui here (the dialogs live in the app).

- A graph file opens as itself (Save writes it back). A PNG with an embedded
  graph or legacy CLIPig YAML opens as a new, unsaved graph (Save asks for a
  `.graph.yaml` name, so the image or config is never replaced).
- Templates are the `*.graph.yaml` files of graphs/; they open as unsaved copies.
- Recent files and recovery files live in the state folder: $CLIPIG_NODES_STATE_DIR,
  else $XDG_STATE_HOME/clipig-nodes, else ~/.local/state/clipig-nodes.
- Autosave writes `recovery-<pid>.graph.yaml` (+ `.json` saying which file it
  belongs to) while there are unsaved changes and removes it when there are none
  or the editor closes normally. A recovery file whose process is gone is what a
  crash left behind: the next start offers to restore it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..documents import GRAPH, LEGACY, PNG, load_document
from ..graph.fileformat import SUFFIX, load_graph, save_graph
from ..graph.layout import auto_layout
from ..graph.model import Graph
from ..output_names import source_stem
from ..problems import Problem, ProblemsError
from ..yamlio import write_atomic

STATE_ENV = "CLIPIG_NODES_STATE_DIR"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "graphs"
MAX_RECENT = 10


def state_dir() -> Path:
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "clipig-nodes"


# --- the document -------------------------------------------------------------------------------

@dataclass
class Document:
    """What the editor has open: where Save writes (None: ask), where it came from."""

    path: Path | None = None          # a graph file Save writes to
    origin: Path | None = None        # template, PNG or legacy config it was made from
    kind: str | None = None           # graph | png | legacy | template | None (new)

    @property
    def name(self) -> str:
        if self.path is not None:
            return self.path.name
        if self.origin is not None:
            return f"{suggested_name(self.origin)} (unsaved {self.kind or 'copy'})"
        return "untitled"

    @property
    def base_dir(self) -> Path | None:
        """Folder that relative file names in the graph start from."""
        where = self.path or self.origin
        return where.parent if where is not None else None

    def suggested_path(self) -> Path:
        where = self.path or self.origin
        if where is None:
            return Path.cwd() / f"untitled{SUFFIX}"
        folder = where.parent if self.kind != "template" else Path.cwd()
        return folder / f"{suggested_name(where)}{SUFFIX}"


def suggested_name(path: Path) -> str:
    """A file's name without .graph.yaml/.yaml/.png: the base for names derived from it."""
    return source_stem(path, "untitled")


@dataclass
class Opened:
    graph: Graph | None
    document: Document | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return self.graph is not None


def open_file(paths, registry=None, template: bool = False) -> Opened:
    """Load a graph file, a PNG with a graph, or legacy config(s) (merged)."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    loaded = load_document(paths, registry)
    if loaded.graph is None:
        return Opened(None, None, loaded.problems)
    graph = loaded.graph
    if loaded.kind == LEGACY or _unplaced(graph):
        auto_layout(graph, registry)
    if template:
        document = Document(None, paths[0], "template")
    elif loaded.kind == GRAPH:
        document = Document(paths[0].resolve(), None, GRAPH)
    else:
        document = Document(None, paths[-1].resolve(), PNG if loaded.kind == PNG else LEGACY)
    return Opened(graph, document, loaded.problems)


def _unplaced(graph: Graph) -> bool:
    """All nodes on one spot (a graph written by hand or by code): lay it out."""
    return len(graph) > 1 and len({n.pos for n in graph}) == 1


def save_file(graph: Graph, path) -> Path:
    path = Path(path)
    if not path.name.endswith(SUFFIX):
        path = path.with_name(suggested_name(path) + SUFFIX)
    save_graph(graph, path)
    return path.resolve()


def export_legacy_file(graph: Graph, path, registry=None) -> list[Problem]:
    """Write CLIPig YAML; the problems say what it cannot express (errors: nothing written)."""
    from ..legacy import dumps_legacy

    text, problems = dumps_legacy(graph, registry)
    if text is None:
        return problems
    write_atomic(Path(path), text)
    return problems


# --- templates ----------------------------------------------------------------------------------

@dataclass
class Template:
    name: str
    path: Path
    description: str
    inputs: list = field(default_factory=list)      # (name, description) of each exposed input


def templates(folder: Path | None = None) -> list[Template]:
    """The graphs/ templates, by name, with their descriptions and inputs (unreadable ones
    skipped)."""
    folder = Path(folder or TEMPLATES_DIR)
    out = []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            graph = load_graph(path)
        except ProblemsError:
            continue
        out.append(Template(suggested_name(path).replace("-", " "), path, graph.description or "",
                            [(i.name, i.description) for i in graph.inputs.values()]))
    return out


# --- recent files -------------------------------------------------------------------------------

class RecentFiles:
    def __init__(self, folder: Path | None = None):
        self.file = Path(folder or state_dir()) / "recent.json"

    def load(self) -> list[Path]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            return [Path(p) for p in data if isinstance(p, str)][:MAX_RECENT]
        except (OSError, ValueError):
            return []

    def add(self, path) -> list[Path]:
        path = Path(path).resolve()
        paths = [path] + [p for p in self.load() if p != path]
        paths = paths[:MAX_RECENT]
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.file, json.dumps([str(p) for p in paths], indent=1))
        except OSError:
            pass            # recent files are a convenience, never an error
        return paths


# --- recovery -----------------------------------------------------------------------------------

@dataclass
class RecoveryFile:
    graph_file: Path
    info_file: Path
    pid: int
    path: Path | None            # the document it belongs to
    saved_at: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))
        what = str(self.path) if self.path else "an unsaved graph"
        return f"{what}, autosaved {when}"

    def load(self) -> Graph:
        return load_graph(self.graph_file)

    def remove(self) -> None:
        for f in (self.graph_file, self.info_file):
            try:
                f.unlink()
            except OSError:
                pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Recovery:
    """This process's recovery file, and the ones crashed processes left."""

    def __init__(self, folder: Path | None = None, pid: int | None = None):
        self.folder = Path(folder or state_dir())
        self.pid = os.getpid() if pid is None else pid
        self.graph_file = self.folder / f"recovery-{self.pid}{SUFFIX}"
        self.info_file = self.folder / f"recovery-{self.pid}.json"

    def save(self, graph: Graph, document: Document | None) -> bool:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            save_graph(graph, self.graph_file)
            info = {"pid": self.pid, "time": time.time(),
                    "path": str(document.path) if document and document.path else None}
            write_atomic(self.info_file, json.dumps(info))
            return True
        except (OSError, ProblemsError):
            return False

    def clear(self) -> None:
        RecoveryFile(self.graph_file, self.info_file, self.pid, None, 0).remove()

    def orphans(self) -> list[RecoveryFile]:
        """Recovery files of processes that are gone, newest first."""
        found = []
        for info_file in self.folder.glob("recovery-*.json"):
            try:
                info = json.loads(info_file.read_text(encoding="utf-8"))
                pid = int(info["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            graph_file = info_file.with_name(f"recovery-{pid}{SUFFIX}")
            if pid == self.pid or _alive(pid) or not graph_file.is_file():
                continue
            path = Path(info["path"]) if info.get("path") else None
            found.append(RecoveryFile(graph_file, info_file, pid, path,
                                      float(info.get("time") or 0)))
        return sorted(found, key=lambda r: -r.saved_at)
