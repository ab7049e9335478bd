"""Progress video: the images of a run, written as an MP4 through imageio's bundled ffmpeg.

`VideoRecorder(path, fps)` takes frames (uint8 [H,W,3] arrays, float arrays in [0,1],
or [1,3,H,W] tensors already on the host) and encodes them into a hidden partial
file next to `path`. `close()` moves it to `path` atomically and never over an
existing file; `abort()` removes it. Frames keep the size of the first one (later
frames, e.g. after a resolution switch, are resized to it), padded to even sides as
H.264 needs.

No torch import: the editor's UI process records from the arrays it is sent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .graph.pngmeta import free_path
from .yamlio import link_new


class VideoError(Exception):
    """Recording cannot start or finish: the message says why and names the file."""


def _imageio():
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (the bundled ffmpeg binary)
    except ImportError:
        raise VideoError("writing a video needs imageio and imageio-ffmpeg: pip install "
                         "'clipig-nodes[video]' (or pip install imageio imageio-ffmpeg)") from None
    return imageio


def to_frame(image) -> np.ndarray:
    """A frame as uint8 [H,W,3]: from uint8 or float [0,1] arrays [H,W,3], or a host tensor
    [1,3,H,W] / [3,H,W] in [0,1]."""
    if hasattr(image, "detach"):
        image = image.detach()
        if image.dim() == 4:
            image = image[0]
        image = image.permute(1, 2, 0).float().clamp(0, 1).numpy()
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"a frame must be [H,W,3], got {array.shape}")
    return array


class VideoRecorder:
    def __init__(self, path: str | os.PathLike, fps: float = 25.0, every: int = 1):
        self.path = Path(path)
        self.every = every           # a frame every N epochs (for callers that feed by epoch)
        self.last_epoch = None       # the epoch of the last frame added by such a caller
        if self.path.suffix.lower() not in (".mp4", ".mkv", ".mov", ".avi"):
            raise VideoError(f"{self.path}: the video needs a .mp4 (or .mkv, .mov, .avi) name")
        if self.path.exists():
            raise VideoError(f"{self.path} exists; a video is never written over a file "
                             "(choose another name)")
        if not self.path.parent.is_dir():
            raise VideoError(f"{self.path}: folder {self.path.parent} does not exist")
        self.fps = float(fps)
        self.partial = self.path.with_name(f".{self.path.stem}.{os.getpid()}.partial"
                                           f"{self.path.suffix}")
        self.frame_size: tuple[int, int] | None = None   # (width, height) of the first frame
        self.size: tuple[int, int] | None = None         # the same, padded to even sides
        self.frames = 0
        self.failed = False          # set by a caller that stopped recording after an error
        self._imageio = _imageio()
        self._writer = None

    def add(self, image) -> None:
        frame = to_frame(image)
        if self._writer is None:
            h, w = frame.shape[:2]
            self.frame_size = (w, h)
            self.size = (w + w % 2, h + h % 2)
            try:
                self._writer = self._imageio.get_writer(
                    str(self.partial), fps=self.fps, codec="libx264", quality=8,
                    pixelformat="yuv420p", macro_block_size=1, ffmpeg_log_level="error")
            except Exception as exc:
                raise VideoError(f"cannot write {self.path}: {type(exc).__name__}: {exc}") \
                    from None
        frame = self._fit(frame)
        try:
            self._writer.append_data(frame)
        except Exception as exc:
            self.abort()
            raise VideoError(f"cannot write {self.path}: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        self.frames += 1

    def _fit(self, frame: np.ndarray) -> np.ndarray:
        """Resize to the first frame's size when the run's resolution changed; pad odd sides."""
        if (frame.shape[1], frame.shape[0]) != self.frame_size:
            from PIL import Image
            frame = np.asarray(Image.fromarray(frame).resize(self.frame_size, Image.BICUBIC))
        w, h = self.size
        fh, fw = frame.shape[:2]
        if (fw, fh) != (w, h):
            frame = np.pad(frame, ((0, h - fh), (0, w - fw), (0, 0)), mode="edge")
        return frame

    def close(self) -> Path | None:
        """Finish the file and give it its name; None when no frame was added."""
        if self._writer is None:
            return None
        writer, self._writer = self._writer, None
        try:
            writer.close()
        except Exception as exc:
            self.partial.unlink(missing_ok=True)
            raise VideoError(f"cannot finish {self.path}: {type(exc).__name__}: {exc}") from None
        try:
            link_new(self.partial, self.path)     # fails, never replaces, when the name is taken
        except FileExistsError:
            raise VideoError(f"{self.path} appeared while recording; the video is kept as "
                             f"{self.partial}") from None
        self.partial.unlink(missing_ok=True)
        return self.path

    def abort(self) -> None:
        """Stop and remove the partial file."""
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except Exception:
                pass
        self.partial.unlink(missing_ok=True)


RUN_FRAMES = ("epoch", "done", "stopped")   # messages whose image is the run's (not a preview's)


class Recording:
    """The editor's Record toggle: a video per run, under a free name in `folder`.

    `wanted` is the toggle. `feed(kind, image)` takes each run message's kind (started,
    epoch, done, stopped, preview...) and image, a frame only from RUN_FRAMES; it returns a line for the status when something
    happened (a video started, finished or failed), else None. Turning the toggle on
    mid-run starts a video from there; turning it off finishes the one being written.
    """

    def __init__(self, folder, name: str = "clipig-run.mp4", fps: float = 25.0):
        self.folder = Path(folder)
        self.name = name
        self.fps = fps
        self.wanted = False
        self.running = False
        self.video: VideoRecorder | None = None

    def set_wanted(self, wanted: bool) -> str | None:
        self.wanted = bool(wanted)
        if not self.wanted:
            return self._finish()
        return self._start() if self.running else None

    def feed(self, kind: str, image=None) -> str | None:
        note = None
        if kind == "started":
            self.running = True
            note = self._finish()
            note = (self._start() if self.wanted else None) or note
        if self.video is not None and image is not None and kind in RUN_FRAMES:
            try:
                self.video.add(image)
            except (VideoError, ValueError) as exc:
                self.video.abort()                # no writer left open, no partial file
                self.video = None
                return f"recording stopped: {exc}"
        if kind in ("done", "stopped", "error"):
            self.running = False
            note = self._finish()
        return note

    def _start(self) -> str | None:
        if self.video is not None:
            return None
        try:
            self.video = VideoRecorder(free_path(self.folder / self.name), self.fps)
        except VideoError as exc:
            return f"cannot record: {exc}"
        return f"recording to {self.video.path}"

    def _finish(self) -> str | None:
        video, self.video = self.video, None
        if video is None:
            return None
        try:
            path = video.close()
        except VideoError as exc:
            return f"video: {exc}"
        return f"video: {path} ({video.frames} frames)" if path else None
