"""Is there a display to open a window on? One clear message instead of a crash.

Dear PyGui (GLFW) aborts the whole process when it cannot open a window, so the
check runs first: on Linux and the BSDs a window needs an X display (DISPLAY;
Wayland sessions provide one through XWayland), which is opened and closed
once with libX11 to be sure it answers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_screen: tuple[int, int] | None = None       # read by display_problem

HINT = ("run it in a desktop session, or without a screen under a virtual one: "
        "xvfb-run -a python main.py gui ...")


def display_problem() -> str | None:
    """None when a window can be opened, else why not (one line)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    display = os.environ.get("DISPLAY")
    if not display:
        return f"no display: the DISPLAY environment variable is not set; {HINT}"
    name = ctypes.util.find_library("X11")
    if not name:
        return None          # cannot check: let GLFW try
    try:
        x11 = ctypes.CDLL(name)
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        handle = x11.XOpenDisplay(display.encode())
    except (OSError, AttributeError):
        return None
    if not handle:
        return f"cannot open display '{display}' (is the X server running?); {HINT}"
    global _screen
    try:
        x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
        x11.XDisplayWidth.argtypes = x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
        screen = x11.XDefaultScreen(handle)
        _screen = (int(x11.XDisplayWidth(handle, screen)), int(x11.XDisplayHeight(handle, screen)))
    except (OSError, AttributeError):
        _screen = None
    x11.XCloseDisplay(handle)
    return None


def screen_size() -> tuple[int, int] | None:
    """The default screen's size as `display_problem` saw it (None before, or off X).

    Read on the one connection that check opens: a second libX11 connection opened and
    closed next to GLFW's made window creation abort now and then."""
    return _screen


def window_placement(width: int, height: int, screen: tuple[int, int] | None,
                     margin: int = 40) -> tuple[int, int, int, int]:
    """(x, y, width, height) of a window of the wanted size made to fit on `screen`, with
    room for a desktop's panels and title bar, centred."""
    if screen is None:
        return 100, 60, width, height
    sw, sh = screen
    width = max(320, min(width, sw - 2 * margin))
    height = max(240, min(height, sh - 2 * margin - 30))       # 30: the title bar
    return max(0, (sw - width) // 2), max(0, (sh - height) // 2 + 15), width, height
