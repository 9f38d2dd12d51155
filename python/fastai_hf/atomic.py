"""Writes that either complete or leave nothing behind: a file or folder appears at its target only
when it was written whole, and whatever stood there before stays untouched until then.

Both context managers hand out a temporary path beside the target (same file system, so the final
rename is atomic on POSIX); on success it is renamed into place, on any exception (a full disk, an
object that cannot be pickled, KeyboardInterrupt) it is deleted and the exception propagates. An
OSError raised while writing (ENOSPC, EACCES, ...) is re-raised, same type and errno, with a message
that names the target, says that nothing was written and what to do.
"""
import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

from .checks import show

__all__ = ["atomic_file", "atomic_folder"]

_FIXES = {errno.ENOSPC: "free disk space or write to another folder",
          errno.EDQUOT: "free disk space (you are over your quota) or write to another folder",
          errno.EACCES: "write to a folder you have write permission for",
          errno.EPERM: "write to a folder you have write permission for",
          errno.EROFS: "the file system is read-only: write to another folder"}


def _target(path):
    "The target as an absolute path (so '.' or 'out/' have a name and a parent), links not followed."
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _parent(target):
    parent = target.parent
    if not parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"cannot write {show(str(target))}: its folder {show(str(parent))} "
                                              "does not exist; create it first, or write somewhere else", str(parent))
    return parent


def _mode(target, folder=False):
    """The permissions the target gets: an earlier file's or folder's, else the usual ones for a new one
    (0o666 / 0o777 less the umask), not mkstemp's / mkdtemp's private 0o600 / 0o700."""
    if target.exists(): return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


def _named(e, target, existed, what="file"):
    "The OSError `e` from writing `target`, re-worded: what failed, that nothing changed, what to do."
    if getattr(e, "_names_target", False): return e  # re-worded already (a nested atomic write)
    kept = f"; the {what} that was there is unchanged" if existed else ""
    fix = _FIXES.get(e.errno)
    msg = f"could not write {show(str(target))}: {e.strerror or e}. Nothing was written{kept}"
    if fix: msg += f"; {fix}"
    new = OSError(e.errno, msg) if e.errno is not None else type(e)(msg)  # OSError(errno) picks the subclass
    new._names_target = True
    return new


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary file path beside `path`; rename it to `path` when the block succeeds.
    Refuses a `path` that is an existing folder."""
    target = _target(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"cannot write the file {show(str(target))}: a folder of that name "
                                              "exists; give a file name", str(target))
    existed, parent = target.exists(), _parent(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise _named(e, target, existed) from e
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _mode(target))
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError): os.remove(tmp)
        if isinstance(e, OSError): raise _named(e, target, existed) from e
        raise


def _replaceable(target, replaces):
    "May the existing folder `target` be replaced: empty, or holding the file `replaces` (an earlier save)?"
    if replaces is None: return True
    return not any(target.iterdir()) or (target / replaces).exists()


@contextlib.contextmanager
def atomic_folder(path, replaces=None):
    """Yield a temporary folder beside `path`; when the block succeeds, it replaces `path` (an
    earlier folder there is moved aside first and deleted after). Refuses a `path` that is a file.
    With `replaces` (a file name such as "config.json"), an existing folder is replaced only when it is
    empty or holds that file (an earlier save), so a folder of other files is never deleted."""
    target = _target(path)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"cannot write the folder {show(str(target))}: a file of that name "
                                                "exists; give a folder name (or move the file away)", str(target))
    existed = target.exists()
    if existed and not _replaceable(target, replaces):
        raise FileExistsError(errno.EEXIST, f"cannot write the folder {show(str(target))}: it exists and holds other "
                                            f"files (no {replaces}, so it is not an earlier save), which writing "
                                            "there would replace; give a new folder name, or empty it first",
                              str(target))
    parent = _parent(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as e:
        raise _named(e, target, existed, "folder") from e
    try:
        yield tmp
        os.chmod(tmp, _mode(target, folder=True))
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old)  # onto the empty folder just made: a unique name
        try:
            os.replace(tmp, target)
        except BaseException:
            if old is not None: os.replace(old, target)  # put the earlier folder back
            raise
        if old is not None: shutil.rmtree(old, ignore_errors=True)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError): raise _named(e, target, existed, "folder") from e
        raise
