"""Files swp writes for people (exports, statements, backups): whole or not at all, private,
and only where they were asked for.

- Atomic: the content goes to a temporary file in the destination's own folder (created 0600
  by `mkstemp` and written through the descriptor it opened, never reopened by name, so a link
  swapped in for it meanwhile is never written through), is flushed and fsync'd, and only then
  appears under its name: by a hard link (which fails if the name was taken meanwhile, so
  nothing is ever clobbered by a race) or, with `force`, by `os.replace`. The folder is fsync'd so the new name survives a power cut. On any
  failure the temporary file is removed and the destination is untouched.
- Private: every file is mode 0600 (statements and exports show members' pay and the books).
- Never over an existing file without `force`, and never through a symbolic link, even with
  `force`: a link at the destination is refused (someone may have planted it to redirect the
  write).
- A missing folder on the way to a file is created (each one 0700, as `mkdir -p` would), when
  the file is written: `make_parents` is the one place that does it.
- Paths a user types (`../out.csv`, `/tmp/x.json`) are the user's choice. Names derived from
  data (one statement per member handle) go through `inside()`, which refuses anything that
  is not one plain file name, so they can never leave the folder asked for.
- A NUL byte in a path is refused with one clear line (the OS would raise ValueError).
- Never over the practice's own database (or its -wal or -shm file), even with `force`.
- An operating-system failure (disk full, permission denied, read-only file system) becomes one
  clear line naming the file (an SwpError), never a traceback.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from swp.errors import InputError, PreconditionError, SwpError

FILE_MODE = 0o600
FOLDER_MODE = 0o700
REPLACE = "pass --force to replace it"  # what to do about a destination that exists


# --- where a file may go ---------------------------------------------------------------------

def _no_nul(text: str | os.PathLike[str], what: str = "path") -> str:
    raw = os.fspath(text)
    if "\x00" in raw:
        raise InputError(f"the {what} contains a NUL byte: {raw[:60]!r}")
    return raw


def check_path(path: str | os.PathLike[str], *, force: bool = False, taken: str = REPLACE) -> Path:
    """Refuse, before any work is done, a destination that cannot or must not be written.

    The folder must exist or be one that can be made (its nearest existing ancestor is a
    folder: `make_parents` makes it when the file is written); the destination must not be a
    folder or a symbolic link; an existing file is refused unless `force`. Returns the path
    (user home expanded).
    """
    raw = _no_nul(path)
    if not raw.strip():
        raise InputError("the output path is empty")
    target = Path(raw).expanduser()
    folder = target.parent
    if target.is_symlink():
        raise PreconditionError(f"{target} is a symbolic link; swp does not write through it")
    if not folder.is_dir():
        _nearest_folder(folder)  # refuses a file (or a broken link) on the way
        return target
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name")
    refuse_database(target)
    if target.exists():
        if not force:
            raise PreconditionError(f"{target} already exists; {taken}")
        if not target.is_file():
            raise PreconditionError(f"{target} is not a regular file; swp does not replace it")
    return target


def refuse_database(target: Path, database: Path | None = None) -> None:
    """Refuse to write over the practice's own database or its -wal, -shm or -journal file (by
    name or, through another name, by inode). `database`: the SQLite file; by default the one
    the command line named (swp.live), if it is a file."""
    if database is None:
        from swp import live

        if not live.named:
            return
        from swp.db import resolve

        try:
            database = resolve(live.named[0]).path
        except SwpError:  # not a database swp can open: the command says so itself
            return
        if database is None:  # a server's database is no file here
            return
    resolved, base = target.resolve(), database.resolve()
    same = resolved in {base} | {base.with_name(base.name + s) for s in ("-wal", "-shm", "-journal")}
    if not same:
        try:
            same = os.path.exists(target) and os.path.samefile(target, database)
        except OSError:
            same = False
    if same:
        raise InputError(f"{target} is the practice's own database (or its -wal or -shm file); "
                         "write to another file")


def inside(folder: str | os.PathLike[str], name: str) -> Path:
    """`folder/name` for a name derived from data, refusing any name that could leave the
    folder: a path separator, `.` or `..`, a NUL or other control character, or an empty name."""
    text = _no_nul(name, "file name")
    separators = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    bad = (not text or text in (".", "..") or any(s in text for s in separators)
           or any(ord(c) < 32 or ord(c) == 127 for c in text) or Path(text).name != text)
    if bad:
        raise InputError(f"not a plain file name: {text[:60]!r}; a name made from the data "
                         "must stay inside the folder asked for")
    base = Path(_no_nul(folder)).expanduser()
    child = base / text
    if child.parent != base:  # belt and braces: the checks above make this impossible
        raise InputError(f"{text!r} would leave the folder {base}")
    return child


def _nearest_folder(folder: Path) -> list[Path]:
    """The folders missing on the way to `folder`, outermost first; refuses when the nearest
    thing that exists on the way is not a folder (a file, or a broken symbolic link)."""
    missing: list[Path] = []
    current = folder
    while not os.path.lexists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    if current.is_symlink() and not current.is_dir():
        raise PreconditionError(f"{current} is a broken symbolic link")
    if os.path.lexists(current) and not current.is_dir():
        raise InputError(f"{current} is a file, not a folder")
    return missing[::-1]


def make_parents(folder: str | os.PathLike[str]) -> Path:
    """Create `folder` and any folder missing on the way to it (each 0700), as `mkdir -p`
    does, or accept an existing folder. Every file swp writes comes through here."""
    folder = Path(_no_nul(folder)).expanduser()
    for each in _nearest_folder(folder):
        try:
            each.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            if not each.is_dir():
                raise InputError(f"{each} is a file, not a folder") from None
        except OSError as exc:
            raise os_error(exc, each) from None
    return folder


def make_folder(path: str | os.PathLike[str]) -> Path:
    """Create an output folder (0700, and any missing on the way), or accept an existing one."""
    folder = Path(_no_nul(path)).expanduser()
    if folder.is_symlink() and not folder.is_dir():
        raise PreconditionError(f"{folder} is a broken symbolic link")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder")
    return make_parents(folder)


# --- one line for an operating-system failure ---------------------------------------------------

def os_error(exc: OSError, path: str | os.PathLike[str]) -> SwpError:
    """An OSError while writing `path`, as one clear line."""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return SwpError(f"the disk is full; nothing was written to {path}")
    if code in (errno.EACCES, errno.EPERM):
        return SwpError(f"permission denied: cannot write {path}")
    if code == errno.EFBIG:
        return SwpError(f"the file is larger than this disk (or the user's file-size limit) "
                        f"allows; nothing was written to {path}")
    if code == errno.EROFS:
        return SwpError(f"the file system is read-only: cannot write {path}")
    if code == errno.ENAMETOOLONG:
        return InputError(f"the file name is too long: {str(path)[:80]}...")
    if code == errno.EEXIST:
        return PreconditionError(f"{path} already exists; pass --force to replace it")
    return SwpError(f"cannot write {path}: {exc.strerror or exc}")


# --- writing --------------------------------------------------------------------------------------

def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in `folder` durable (best effort: some systems cannot open a folder)."""
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


def open_beside(target: Path) -> tuple[int, str]:
    """A new, empty, private (0600) temporary file in the target's folder (made if missing),
    open for writing: its descriptor and path. Write through the descriptor: reopening the
    file by name would follow a link someone who can write to the folder put there meanwhile."""
    make_parents(target.parent)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name[:60]}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise os_error(exc, target) from None
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError as exc:
        os.close(fd)
        _remove(temp)
        raise os_error(exc, target) from None
    return fd, temp


def temp_beside(target: Path) -> str:
    """A new, empty, private (0600) temporary file in the target's folder (made if missing);
    its path (for a writer that needs a name, as SQLite's backup does)."""
    fd, temp = open_beside(target)
    os.close(fd)
    return temp


def publish(temp: str, target: Path, *, force: bool, taken: str = REPLACE) -> None:
    """Give the complete temporary file its name. Without `force` the name must still be free
    (a hard link fails if it was taken meanwhile); with `force` an existing regular file is
    replaced, never a symbolic link. The temporary name is gone afterwards either way."""
    try:
        if target.is_symlink():
            raise PreconditionError(f"{target} is a symbolic link; swp does not write through it")
        if os.path.islink(temp):  # swapped for a link after it was written: give it no name
            raise PreconditionError(f"swp's temporary file {temp} was replaced by a symbolic link "
                                    f"meanwhile; nothing was written to {target}")
        if force:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)
            except FileExistsError:
                raise PreconditionError(f"{target} already exists; {taken}") from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                                     errno.EMLINK, errno.ENOSYS):
                    raise
                # a file system without hard links: check, then rename (a tiny race remains)
                if os.path.lexists(target):
                    raise PreconditionError(f"{target} already exists; {taken}") from None
                os.replace(temp, target)
        fsync_folder(target.parent)
    except OSError as exc:
        raise os_error(exc, target) from None
    finally:
        _remove(temp)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass


@contextmanager
def atomic_open(path: str | os.PathLike[str], *, force: bool = False, binary: bool = False,
                encoding: str = "utf-8", newline: str | None = "") -> Iterator[IO[Any]]:
    """Yield a file that appears at `path`, mode 0600, only once the block completes."""
    target = check_path(path, force=force)
    fd, temp = open_beside(target)
    handle: IO[Any]
    try:
        if binary:
            handle = os.fdopen(fd, "wb")  # noqa: SIM115 - closed below
        else:
            handle = os.fdopen(fd, "w", encoding=encoding, newline=newline)  # noqa: SIM115
        try:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            raise os_error(exc, target) from None
        finally:
            try:
                handle.close()
            except OSError:
                pass
        publish(temp, target, force=force)
    finally:
        _remove(temp)


def write_many(files: Sequence[tuple[Path | str, bytes]], *, force: bool = False,
               taken: str = REPLACE) -> None:
    """Write several files as one: every destination is checked first, every content is
    written to its temporary file next (where a full disk shows), and only then are the names
    given. If giving a name fails, the files this call already added are removed again.
    `taken`: what the line refusing an existing destination tells the user to do."""
    targets = [check_path(path, force=force, taken=taken) for path, _ in files]
    if len(set(targets)) != len(targets):
        raise InputError("two of the files would have the same name")
    staged: list[tuple[str, Path]] = []
    try:
        for target, (_, data) in zip(targets, files, strict=True):
            fd, temp = open_beside(target)
            staged.append((temp, target))
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise os_error(exc, target) from None
        added: list[Path] = []
        try:
            for temp, target in staged:
                existed = os.path.lexists(target)
                publish(temp, target, force=force, taken=taken)
                if not existed:
                    added.append(target)
        except BaseException:
            for target in added:
                _remove(str(target))
            raise
    finally:
        for temp, _ in staged:
            _remove(temp)
