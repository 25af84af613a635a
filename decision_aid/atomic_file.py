"""Write an output file whole or not at all.

The content goes to a temporary file beside the target (same folder, so the final
rename cannot cross file systems), named `.NAME.XXXXXXXX.tmp`; only when it is
complete is it flushed to disk and renamed over the target. If anything stops the
writing first (an error, Ctrl-C, SIGTERM, a full disk), the temporary file is
removed and an existing target keeps its previous content. With `partial`, the
content written so far is kept under that name instead of being removed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from decision_aid.errors import DecisionAidError


class OutputPathError(DecisionAidError):
    """The output cannot be written where it was asked for (the message names the path)."""


def output_target(path: str | os.PathLike[str]) -> Path:
    """The file that writing to `path` replaces (through a symlink, the file it points to).

    Raises OutputPathError, naming the path, if its folder is missing or it is a folder.
    """
    given = Path(path)
    target = Path(os.path.realpath(given))
    if target.is_dir():
        raise OutputPathError(f"cannot write {given}: it is a folder")
    if not target.parent.is_dir():
        raise OutputPathError(f"cannot write {given}: the folder {given.parent} does not exist")
    return target


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name the same file (directly, through a symlink or a hard link)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


class AtomicFile:
    """`with AtomicFile(path) as out: out.write(...)`: the binary file appears at `path` when the block ends.

    With `partial` (for line-oriented output), content written before a stop is kept
    under that name, cut back to its last complete line; `kept_lines` says how many.
    """

    def __init__(self, path: str | os.PathLike[str], partial: str | os.PathLike[str] | None = None):
        self.given = Path(path)
        self.target = output_target(path)
        self.partial = Path(partial) if partial is not None else None
        self.existed = self.target.exists()
        self.kept_lines: int | None = None  # lines kept in `partial` after a stop, if any were kept
        self._file: BinaryIO | None = None
        self._temp = ""

    def __enter__(self) -> BinaryIO:
        try:
            fd, self._temp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent)
        except OSError as error:
            raise OutputPathError(f"cannot write {self.given}: {error.strerror or error}") from None
        try:
            os.fchmod(fd, _mode_for(self.target))
            self._file = os.fdopen(fd, "w+b")
        except BaseException:
            os.close(fd)
            os.unlink(self._temp)
            raise
        return self._file

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._file is not None
        file, temp = self._file, self._temp
        if kind is None:
            try:
                file.flush()
                os.fsync(file.fileno())
                file.close()
                os.replace(temp, self.target)
            except BaseException:
                _close_quietly(file)
                _unlink_quietly(temp)
                raise
            return
        # Stopped: the target is left alone; the temporary file is removed or kept as `partial`.
        if self.partial is not None:
            try:
                file.flush()
                self.kept_lines = _cut_to_last_line(file)
                os.fsync(file.fileno())
                file.close()
                os.replace(temp, self.partial)
                return
            except OSError:
                self.kept_lines = None
        _close_quietly(file)
        _unlink_quietly(temp)


def _cut_to_last_line(file: BinaryIO) -> int:
    """Truncate after the last newline; return how many lines are left."""
    file.seek(0)
    lines = end = offset = 0
    while block := file.read(1 << 20):
        count = block.count(b"\n")
        if count:
            lines += count
            end = offset + block.rindex(b"\n") + 1
        offset += len(block)
    file.truncate(end)
    return lines


def _mode_for(target: Path) -> int:
    """An existing target's permissions, or a new file's usual ones (0666 less the umask)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux shows it without changing it
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _close_quietly(file: BinaryIO) -> None:
    try:
        file.close()
    except OSError:
        pass


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
