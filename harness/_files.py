"""Atomic, scanned file writes: a file is whole and secret-free, or it is not there at all."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from harness._exceptions import SecretLeakError
from harness._redact import scan

__all__ = ["check_write", "read_regular", "write_atomic"]


def read_regular(path: str | os.PathLike[str]) -> bytes:
    """The bytes of ``path``, which must be a regular file: reading a FIFO would wait for a
    writer for ever, a device could be endless. ``OSError`` naming the path otherwise."""
    target = Path(path)
    if target.exists() and not target.is_file():
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(target))
    return target.read_bytes()


def check_write(path: str | os.PathLike[str], data: bytes, *, secrets: Iterable[str]) -> None:
    """Raise what :func:`write_atomic` would refuse ``data`` for at ``path`` before writing:
    a secret in it (:class:`SecretLeakError`), or a target that exists and is not a regular
    file (``OSError``: renaming over it would replace a folder's entry, or a device such as
    /dev/null). A writer of several files checks them all first, so a set is written whole."""
    target = Path(path)
    findings = scan(data, secrets)
    if findings:
        raise SecretLeakError(target, findings)
    if target.exists() and not target.is_file():
        raise OSError(
            errno.EISDIR if target.is_dir() else errno.EEXIST,
            "exists and is not a regular file; not replaced",
            os.fspath(target),
        )


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, secrets: Iterable[str], checked: bool = False
) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder.

    ``data`` is checked first (:func:`check_write`: no secret, a target that can be replaced;
    ``checked=True`` says the caller just did); the temp file is written, fsynced, then read
    back from disk and scanned again; only a clean file is renamed over ``path`` (atomic on
    POSIX), and the folder is fsynced so the rename survives a crash. On any failure the temp
    file is removed and ``path`` is left as it was. A process killed mid-write leaves ``path``
    as it was, and at most a hidden ``.NAME.*.tmp`` file beside it.
    """
    target = Path(path)
    secrets = set(secrets)
    # Checked before writing too: a process killed between write and scan must not leave a
    # secret in a temp file.
    if not checked:
        check_write(target, data, secrets=secrets)
    try:
        _write(target, data, secrets)
    except OSError as exc:  # named after the file asked for, not the hidden temp file
        raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(target)) from exc


def _write(target: Path, data: bytes, secrets: set[str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        findings = scan(tmp.read_bytes(), secrets)
        if findings:
            raise SecretLeakError(target, findings)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
