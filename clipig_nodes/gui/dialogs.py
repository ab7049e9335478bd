"""Modal dialogs: questions with buttons, a text prompt and the file dialog.

Each open dialog is a `Dialog` the app keeps in `dialogs.current`, so tests (and
the app) can read its message and press its buttons exactly as a click does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg


class Dialog:
    def __init__(self, manager: "Dialogs", title: str, message: str,
                 buttons: list[tuple[str, Callable | None]], text: str | None = None,
                 multiline: bool = False):
        self.manager, self.title, self.message = manager, title, message
        self.callbacks = dict(buttons)
        self.buttons: dict[str, int] = {}
        self.input = None
        width = 640 if multiline else 460
        vw = max(dpg.get_viewport_client_width(), width + 20)
        vh = max(dpg.get_viewport_client_height(), 200)
        with dpg.window(label=title, modal=True, no_collapse=True, width=width, autosize=True,
                        pos=(int((vw - width) / 2), int(vh / 3)),
                        no_close=True) as self.window:
            dpg.add_text(message, wrap=width - 20)
            if text is not None:
                if multiline:         # Enter makes a new line; OK takes the text
                    self.input = dpg.add_input_text(default_value=text, width=-1, multiline=True,
                                                    height=160, tab_input=False)
                else:
                    self.input = dpg.add_input_text(default_value=text, width=-1, on_enter=True,
                                                    callback=lambda s, a: self.press(buttons[0][0]))
                if manager.text_handlers is not None:
                    dpg.bind_item_handler_registry(self.input, manager.text_handlers)
            dpg.add_spacer(height=4)
            with dpg.group(horizontal=True):
                for label, _ in buttons:
                    self.buttons[label] = dpg.add_button(label=label, width=96, user_data=label,
                                                         callback=lambda s, a, u: self.press(u))
        manager.show_when_ready(self.window)
        if self.input is not None:
            dpg.focus_item(self.input)

    @property
    def open(self) -> bool:
        return dpg.does_item_exist(self.window)

    def value(self) -> str | None:
        return dpg.get_value(self.input) if self.input is not None else None

    def press(self, label: str) -> None:
        """What clicking the button does: close, then run its action."""
        callback = self.callbacks[label]
        value = self.value()
        self.close()
        if callback is not None:
            if self.input is not None:
                callback(value)
            else:
                callback()

    def close(self) -> None:
        self.manager.discard(self.window)
        if self.manager.current is self:
            self.manager.current = None


def extension_filters(extensions) -> list[str]:
    """Dear PyGui filters: all the kinds together first (what the dialog starts with), then
    each kind, then every file."""
    exts = list(dict.fromkeys(ext for ext, _ in extensions))
    filters = []
    if len(exts) > 1:
        filters.append(f"All supported ({' '.join('*' + e for e in exts)}){{{','.join(exts)}}}")
    return filters + exts + [".*"]


class Dialogs:
    def __init__(self, text_handlers=None):
        self.current: Dialog | None = None
        self.file_dialog = None
        self.text_handlers = text_handlers
        self._trash: list[list] = []         # [window, frames to wait]
        self._waiting: list = []             # windows to show once the closing ones are gone

    @property
    def busy(self) -> bool:
        """A dialog is open: keys belong to it, not to the editor."""
        return self.current is not None or (
            self.file_dialog is not None and dpg.does_item_exist(self.file_dialog)
            and bool(dpg.get_item_configuration(self.file_dialog).get("show")))

    def discard(self, window) -> None:
        """Close a modal window: hidden now, deleted a few frames later. (Deleting an open
        modal at once leaves Dear ImGui's popup stack stale: the next modal or popup would
        not open.)"""
        if window is not None and dpg.does_item_exist(window):
            dpg.configure_item(window, show=False)
            self._trash.append([window, 3])

    def show_when_ready(self, window) -> None:
        """A modal opened in the frame another one closes would be closed with it (it
        opens as its child): wait until the closing ones are gone."""
        if self._trash:
            dpg.configure_item(window, show=False)
            self._waiting.append(window)

    def collect(self) -> None:
        """Called once per frame by the app."""
        for entry in list(self._trash):
            entry[1] -= 1
            if entry[1] <= 0:
                self._trash.remove(entry)
                if dpg.does_item_exist(entry[0]):
                    dpg.delete_item(entry[0])
        if not self._trash and self._waiting:
            window = self._waiting.pop(0)
            if dpg.does_item_exist(window):
                dpg.configure_item(window, show=True)

    def ask(self, title: str, message: str, buttons: list[tuple[str, Callable | None]]) -> Dialog:
        if self.current is not None:
            self.current.close()
        self.current = Dialog(self, title, message, buttons)
        return self.current

    def prompt(self, title: str, message: str, text: str, on_ok: Callable[[str], None],
               multiline: bool = False) -> Dialog:
        if self.current is not None:
            self.current.close()
        self.current = Dialog(self, title, message, [("OK", on_ok), ("Cancel", None)], text=text,
                              multiline=multiline)
        return self.current

    def info(self, title: str, message: str) -> Dialog:
        return self.ask(title, message, [("OK", None)])

    def choose_file(self, title: str, on_chosen: Callable[[list[Path]], None], *,
                    save: bool = False, extensions: list[tuple[str, str]] = (),
                    default_path: Path | None = None, multiple: bool = False) -> int:
        """Dear PyGui's file dialog; `on_chosen` gets the chosen paths."""
        self.discard(self.file_dialog)
        folder = str(default_path.parent if default_path else Path.cwd())
        name = default_path.name if (save and default_path) else ""

        def chosen(sender, app_data):
            selections = list((app_data.get("selections") or {}).values())
            if save or not selections:
                path = app_data.get("file_path_name") or ""
                selections = [path] if path else []
            paths = [Path(p) for p in selections if p]
            self.discard(sender)
            self.file_dialog = None
            if paths:
                on_chosen(paths)

        def cancelled(sender, app_data):
            self.discard(sender)
            self.file_dialog = None

        vw, vh = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        with dpg.file_dialog(label=title, directory_selector=False, show=True, modal=True,
                             callback=chosen, cancel_callback=cancelled,
                             default_path=folder if os.path.isdir(folder) else str(Path.cwd()),
                             default_filename=name, file_count=20 if multiple else 1,
                             width=min(900, vw - 40), height=min(560, vh - 60)) as dialog:
            for ext in extension_filters(extensions):
                dpg.add_file_extension(ext)
        self.file_dialog = dialog
        self.show_when_ready(dialog)
        self._cancel = lambda: cancelled(dialog, None)
        return dialog

    def cancel_file(self) -> None:
        """What the file dialog's Cancel button does."""
        if self.file_dialog is not None and dpg.does_item_exist(self.file_dialog):
            self._cancel()
