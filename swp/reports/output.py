"""Writing statements to files: atomically (a temporary file in the target folder, flushed,
then renamed into place), never over an existing file without `force`, never outside the
folder asked for, readable by the owner only (statements show members' pay)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from swp.errors import InputError, PreconditionError

FILE_MODE = 0o600


def plan_targets(output: str, names: Sequence[str], *, folder: bool) -> list[Path]:
    """Where each file goes. `folder`: `output` is a folder (created if missing; its parent
    must exist) and each name is a file inside it; else `output` is the one file (or, if it is
    an existing folder, the file `names[0]` inside it)."""
    if "\x00" in output:
        raise InputError("the output path contains a NUL byte")
    path = Path(output).expanduser()
    for name in names:
        if Path(name).name != name or name in ("", ".", ".."):
            raise InputError(f"not a file name: {name!r}")
    if folder or path.is_dir():
        if path.exists() and not path.is_dir():
            raise InputError(f"{path} is a file; give a folder for one statement per member")
        if not path.exists() and not path.parent.is_dir():
            raise InputError(f"no such folder: {path.parent}")
        return [path / name for name in (names if folder else names[:1])]
    if not path.parent.is_dir():
        raise InputError(f"no such folder: {path.parent}")
    return [path]


def check_free(targets: Sequence[Path], *, force: bool) -> None:
    """Refuse before writing anything if a target exists (unless force) or is a folder."""
    for target in targets:
        if target.is_dir():
            raise PreconditionError(f"{target} is a folder")
        if target.exists() or target.is_symlink():
            if not force:
                raise PreconditionError(f"{target} already exists; pass --force to replace it")
            if target.is_symlink():
                raise PreconditionError(f"{target} is a symbolic link; swp does not write through it")


def write_atomic(target: Path, data: bytes, *, force: bool) -> None:
    folder = target.parent
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, FILE_MODE)
        if force:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)  # fails if the target appeared meanwhile: never clobber
            except FileExistsError:
                raise PreconditionError(f"{target} already exists; pass --force to replace it") from None
            except OSError:  # a file system without hard links
                if target.exists():
                    raise PreconditionError(f"{target} already exists; pass --force to replace it") from None
                os.replace(temp, target)
            finally:
                if os.path.exists(temp):
                    os.unlink(temp)
        _sync_folder(folder)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_files(files: Sequence[tuple[Path, bytes]], *, force: bool, make_folder: Path | None = None) -> None:
    """Write every file, or refuse before writing any (a target exists, say)."""
    check_free([path for path, _ in files], force=force)
    if make_folder is not None and not make_folder.exists():
        make_folder.mkdir(mode=0o700)
    for path, data in files:
        write_atomic(path, data, force=force)
