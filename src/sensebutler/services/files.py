"""File copy, move, delete and directory creation inside approved directories (butler.md §5).

Every request path is resolved before anything touches it: backslashes become slashes, ``//`` and
``.`` collapse, and :func:`os.path.realpath` follows symlinks and ``..`` on the real file system. The
resolved path must lie inside a resolved approved directory; only then is the file system asked
whether the source exists, so a caller without approval learns nothing about what is on disk. Paths
that cannot be local on this machine (UNC shares, drive letters on a non-Windows host), percent-encoded
separators and control characters are refused like any unapproved path.

Known limit: a symlink swapped in between the check and the operation (a race by someone who can write
in the approved directory) is not detected.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sensebutler.api.config import FileOperationsConfig

log = logging.getLogger(__name__)

_ENCODED = re.compile(r"%(2f|5c|2e|00)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")


class FileOpError(Exception):
    """A refused or failed file operation; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class NotApproved(FileOpError):
    def __init__(self, message: str) -> None:
        super().__init__(403, message)


def normalise(path: str) -> str:
    """Butler's normalisation: slashes, ``.``, ``..`` and repeated separators collapsed (lexically)."""
    unix = path.replace("\\", "/")
    unc = unix.startswith("//")
    collapsed = os.path.normpath(unix) if unix else unix
    if unc and not collapsed.startswith("//"):
        collapsed = "/" + collapsed
    if _DRIVE.match(collapsed):
        collapsed = collapsed[0].upper() + collapsed[1:]
    return collapsed


def local_path(path: str, refused: str) -> str:
    """The real (symlink-free) absolute path ``path`` names on this machine; :class:`NotApproved`
    with ``refused`` when it cannot name a local path or looks like an attempt to hide separators."""
    if not path or "\x00" in path or any(ord(c) < 32 for c in path) or _ENCODED.search(path):
        raise NotApproved(refused)
    unix = path.replace("\\", "/")
    if unix.startswith("//") or _DRIVE.match(unix) or not unix.startswith("/"):
        raise NotApproved(refused)
    return os.path.realpath(normalise(unix))


def _inside(path: str, root: str, *, strictly: bool) -> bool:
    if path == root:
        return not strictly
    return os.path.commonpath([path, root]) == root


def _roots(directories: list[str]) -> list[str]:
    """Approved directories, resolved once; entries that cannot be local here are dropped."""
    roots = []
    for directory in directories:
        try:
            roots.append(local_path(directory, ""))
        except NotApproved:
            log.warning(
                "api.files: approved directory %r is not a local absolute path here (UNC, drive letter "
                "or relative); it is ignored, so nothing in it is approved",
                directory,
            )
            continue
    return roots


@dataclass
class FileResult:
    """What the endpoint echoes: the normalised request paths (never the symlink targets)."""

    from_file: str = ""
    to_file: str = ""


class FileOperations:
    def __init__(self, settings: FileOperationsConfig) -> None:
        self.copy_pairs = [
            (a[0], b[0])
            for pair in settings.copy_approved
            if (a := _roots([pair.from_directory])) and (b := _roots([pair.to_directory]))
        ]
        self.move_pairs = [
            (a[0], b[0])
            for pair in settings.move_approved
            if (a := _roots([pair.from_directory])) and (b := _roots([pair.to_directory]))
        ]
        self.delete_roots = _roots(settings.delete_approved)
        self.create_roots = _roots(settings.create_dir_roots)
        self.qvd_root = _roots([settings.qvd_path])[0] if settings.qvd_path else None

    def _pair(self, pairs: list[tuple[str, str]], source: str, target: str, what: str) -> tuple[str, str]:
        refused = f"No approved fromDir/toDir for file {what}"
        src, dst = local_path(source, refused), local_path(target, refused)
        for from_root, to_root in pairs:
            if _inside(src, from_root, strictly=True) and _inside(dst, to_root, strictly=True):
                return src, dst
        raise NotApproved(refused)

    async def copy(self, source: str, target: str, *, overwrite: bool, preserve_timestamp: bool) -> None:
        src, dst = self._pair(self.copy_pairs, source, target, "copy")
        await asyncio.to_thread(_copy, src, dst, overwrite, preserve_timestamp)

    async def move(self, source: str, target: str, *, overwrite: bool) -> None:
        src, dst = self._pair(self.move_pairs, source, target, "move")
        await asyncio.to_thread(_move, src, dst, overwrite)

    async def delete(self, target: str) -> None:
        refused = "No approved directory for file delete"
        path = local_path(target, refused)
        if not any(_inside(path, root, strictly=True) for root in self.delete_roots):
            raise NotApproved(refused)
        await asyncio.to_thread(_delete, path)

    async def create_dir(self, directory: str) -> None:
        """``mkdir -p`` under one of ``create_dir_roots`` (a relative path is taken below the first)."""
        refused = "Directory must be within an approved directory (api.files.create_dir_roots)"
        if self.create_roots and _relative(directory):
            directory = self.create_roots[0] + "/" + directory
        path = local_path(directory, refused)
        if not any(_inside(path, root, strictly=False) for root in self.create_roots):
            raise NotApproved(refused)
        await asyncio.to_thread(_mkdir, path)

    async def create_dir_qvd(self, directory: str) -> None:
        refused = "Directory must be within the QVD folder"
        if self.qvd_root is None:
            raise FileOpError(400, "No QVD folder configured (api.files.qvd_path)")
        if not _relative(directory):
            raise NotApproved(refused)
        path = local_path(self.qvd_root + "/" + directory, refused)
        if not _inside(path, self.qvd_root, strictly=False):
            raise NotApproved(refused)
        await asyncio.to_thread(_mkdir, path)


def _relative(path: str) -> bool:
    """Relative here: not absolute, not UNC, no drive letter (those are never joined to a root)."""
    return bool(path) and not path.replace("\\", "/").startswith("/") and not _DRIVE.match(path)


def _exists(path: str) -> bool:
    return os.path.lexists(path)


def _copy(src: str, dst: str, overwrite: bool, preserve_timestamp: bool) -> None:
    if not _exists(src):
        raise FileOpError(404, "Copy failed, the source does not exist")
    if _exists(dst) and not overwrite:
        raise FileOpError(409, "Copy failed, the destination exists (overwrite is false)")
    copier = shutil.copy2 if preserve_timestamp else shutil.copy
    try:
        if os.path.isdir(src):
            shutil.copytree(src, dst, symlinks=True, copy_function=copier, dirs_exist_ok=True)
        else:
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            copier(src, dst)
    except OSError as exc:
        raise FileOpError(500, f"Copy failed: {exc.strerror or exc}") from exc


def _move(src: str, dst: str, overwrite: bool) -> None:
    if not _exists(src):
        raise FileOpError(404, "Move failed, the source does not exist")
    if _exists(dst) and not overwrite:
        raise FileOpError(409, "Move failed, the destination exists (overwrite is false)")
    try:
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        shutil.move(src, dst)
    except OSError as exc:
        raise FileOpError(500, f"Move failed: {exc.strerror or exc}") from exc


def _delete(path: str) -> None:
    if not _exists(path):
        raise FileOpError(404, "Delete failed, file does not exist")
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except OSError as exc:
        raise FileOpError(500, f"Delete failed: {exc.strerror or exc}") from exc


def _mkdir(path: str) -> None:
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileOpError(500, f"Creating the directory failed: {exc.strerror or exc}") from exc
