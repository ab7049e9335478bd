"""Documents: new, open, import, save, export, quit, autosave and crash recovery.

A mixin of App: what happens to the graph file the editor shows.
"""

from __future__ import annotations

import time
from pathlib import Path

import dearpygui.dearpygui as dpg

from ..graph.fileformat import SUFFIX
from ..graph.model import Graph
from ..problems import Problem, ProblemsError
from . import files


class DocumentActions:
    # --- files ------------------------------------------------------------------------------

    def when_saved_or_discarded(self, action, what: str) -> None:
        """Run `action` now, or after asking what to do with unsaved changes."""
        if not self.history.dirty:
            action()
            return

        def save_then():
            if self.document.path is not None:
                if self.save():
                    action()
            else:
                self.save_as_dialog(then=action)

        self.dialogs.ask("Unsaved changes",
                         f"{self.document.name} has unsaved changes. Save them before {what}?",
                         [("Save", save_then), ("Discard", action), ("Cancel", None)])

    def new_document(self) -> None:
        self.when_saved_or_discarded(self._new, "starting a new graph")

    def _new(self) -> None:
        self._set_document(Graph(), files.Document(), [])
        self.status("new graph: add a pixels node, a target with features and a train node")

    def _set_document(self, graph: Graph, document: files.Document, problems, dirty=False) -> None:
        self.editor.clear()
        self.document = document
        self.load_problems = [p for p in problems if not p.is_error]
        self.history.reset(graph, dirty=dirty)
        self.recovery.clear()
        self._autosaved_revision = self.history.revision
        self._frame_all_in = 2

    def open_dialog(self) -> None:
        self.dialogs.choose_file("Open graph, PNG or CLIPig YAML", lambda paths: self.open_path(
            paths if len(paths) > 1 else paths[0]),
            extensions=[(".yaml", "graph or CLIPig YAML"), (".yml", "CLIPig YAML"),
                        (".png", "PNG with a graph")],
            default_path=(self.document.base_dir or Path.cwd()) / "x", multiple=True)

    def import_dialog(self) -> None:
        self.dialogs.choose_file("Import CLIPig YAML (several are merged in order)",
                                 lambda paths: self.open_path(paths),
                                 extensions=[(".yaml", "CLIPig YAML"), (".yml", "CLIPig YAML")],
                                 default_path=(self.document.base_dir or Path.cwd()) / "x",
                                 multiple=True)

    def open_path(self, path, ask: bool = True, template: bool = False) -> None:
        action = lambda: self._open(path, template)          # noqa: E731
        if ask:
            self.when_saved_or_discarded(action, "opening another graph")
        else:
            action()

    def open_template(self, path) -> None:
        self.open_path(path, template=True)

    def _open(self, path, template: bool = False) -> bool:
        opened = files.open_file(path, self.registry, template=template)
        label = ", ".join(map(str, path)) if isinstance(path, (list, tuple)) else str(path)
        if not opened.ok:
            errors = "\n".join(str(p) for p in opened.problems[:20])
            self.dialogs.info("Cannot open", f"{label}:\n{errors}")
            self.status(f"cannot open {label}", error=True)
            return False
        self._set_document(opened.graph, opened.document, opened.problems)
        if not template:
            paths = path if isinstance(path, (list, tuple)) else [path]
            for p in paths:
                self.recent.add(p)
            self._fill_recent()
        warnings = [p for p in opened.problems if not p.is_error]
        kind = opened.document.kind
        note = {"png": " (the graph embedded in the image)", "legacy": " (imported CLIPig YAML)",
                "template": " (a template: Save asks for a new name)"}.get(kind, "")
        more = f"; {len(warnings)} conversion notes in Problems" if warnings else ""
        description = f" - {opened.graph.description}" if opened.graph.description else ""
        self.status(f"opened {label}{note}{more}{description}")
        return True

    def save(self) -> bool:
        if self.document.path is None:
            self.save_as_dialog()
            return False
        return self.save_to(self.document.path)

    def save_to(self, path) -> bool:
        try:
            written = files.save_file(self.history.graph, path)
        except ProblemsError as exc:
            self.status(f"cannot save: {exc.problems[0]}", error=True)
            return False
        except OSError as exc:
            self.status(f"cannot save {path}: {exc.strerror or exc}", error=True)
            return False
        self.document = files.Document(written, None, "graph")
        self.history.mark_saved()
        self.recovery.clear()
        self._autosaved_revision = self.history.revision
        self.recent.add(written)
        self._fill_recent()
        self.revalidate()
        self.status(f"saved {written}")
        return True

    def save_as_dialog(self, then=None) -> None:
        def chosen(paths):
            path = paths[0]
            if not path.name.endswith(SUFFIX):
                path = path.with_name(files.suggested_name(path) + SUFFIX)
            if path.exists() and path != self.document.path:
                self.dialogs.ask("Replace file?", f"{path} exists. Replace it?",
                                 [("Replace", lambda: self.save_to(path) and then and then()),
                                  ("Cancel", None)])
            elif self.save_to(path) and then:
                then()
        self.dialogs.choose_file("Save graph as", chosen, save=True,
                                 extensions=[(".yaml", "graph file")],
                                 default_path=self.document.suggested_path())

    def export_dialog(self) -> None:
        suggested = self.document.suggested_path()
        default = suggested.with_name(files.suggested_name(suggested) + ".yaml")

        def chosen(paths):
            path = paths[0]
            if path.exists():
                self.dialogs.ask("Replace file?", f"{path} exists. Replace it?",
                                 [("Replace", lambda: self.export_to(path)), ("Cancel", None)])
            else:
                self.export_to(path)
        self.dialogs.choose_file("Export CLIPig YAML", chosen, save=True,
                                 extensions=[(".yaml", "CLIPig YAML")], default_path=default)

    def export_to(self, path) -> list[Problem]:
        try:
            problems = files.export_legacy_file(self.history.graph, path, self.registry)
        except OSError as exc:
            self.status(f"cannot write {path}: {exc.strerror or exc}", error=True)
            return []
        errors = [p for p in problems if p.is_error]
        if errors:
            self.dialogs.info("Cannot export", "CLIPig YAML cannot hold this graph:\n"
                              + "\n".join(str(p) for p in errors[:20]))
            self.status("not exported", error=True)
        elif problems:
            self.dialogs.info("Exported with notes", f"wrote {path}; what CLIPig YAML cannot "
                              "express:\n" + "\n".join(str(p) for p in problems[:20]))
            self.status(f"exported {path} ({len(problems)} notes)")
        else:
            self.status(f"exported {path}")
        return problems

    def request_exit(self) -> None:
        """The window's close button and File > Quit: never drop unsaved changes unasked."""
        self.when_saved_or_discarded(self._quit, "quitting")

    def _quit(self) -> None:
        self._exit_requested = True
        self.runner.stop()
        dpg.stop_dearpygui()

    # --- autosave and recovery --------------------------------------------------------------

    def autosave(self, force: bool = False) -> None:
        """Every few seconds after a change: the recovery file holds the unsaved graph."""
        now = time.monotonic()
        if not force and (self.history.revision == self._autosaved_revision
                          or now - self._autosaved_at < self.autosave_interval):
            return
        self._autosaved_at = now
        self._autosaved_revision = self.history.revision
        if self.history.dirty:
            self.recovery.save(self.history.graph, self.document)
        else:
            self.recovery.clear()

    def check_recovery(self) -> bool:
        """Offer to restore what a crashed editor autosaved."""
        orphans = self.recovery.orphans()
        if not orphans:
            return False
        latest = orphans[0]

        def restore():
            try:
                graph = latest.load()
            except ProblemsError as exc:
                self.status(f"cannot restore: {exc.problems[0]}", error=True)
                return
            path = latest.path if latest.path and latest.path.is_file() else None
            self._set_document(graph, files.Document(path, None, "graph" if path else None), [],
                               dirty=True)
            for orphan in orphans:
                orphan.remove()
            self.autosave(force=True)
            self.status(f"restored {latest.describe()}: save it to keep it")

        def discard():
            for orphan in orphans:
                orphan.remove()
            self.status("discarded the recovered changes")

        self.dialogs.ask("Restore unsaved changes?",
                         "clipig-nodes did not close properly last time. Restore the unsaved "
                         f"changes of {latest.describe()}?",
                         [("Restore", restore), ("Discard", discard)])
        return True

