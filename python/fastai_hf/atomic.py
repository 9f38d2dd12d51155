"""Writes that either complete or leave nothing behind: a file or folder appears at its target only
when it was written whole, and whatever stood there before stays untouched until then.

Both context managers hand out a temporary path beside the target (same file system, so the final
rename is atomic on POSIX); on success it is renamed into place, on any exception (a full disk, an
object that cannot be pickled, KeyboardInterrupt) it is deleted and the exception propagates.
"""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_file", "atomic_folder"]


def _parent(target):
    parent = target.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(target)!r}: its folder {str(parent)!r} does not exist; "
                                "create it first")
    return parent


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary file path beside `path`; rename it to `path` when the block succeeds.
    Refuses a `path` that is an existing folder."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise IsADirectoryError(f"cannot write the file {str(target)!r}: a folder of that name exists; "
                                "give a file name")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=_parent(target))
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError): os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_folder(path):
    """Yield a temporary folder beside `path`; when the block succeeds, it replaces `path` (an
    earlier folder there is moved aside first and deleted after). Refuses a `path` that is a file."""
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"cannot write the folder {str(target)!r}: a file of that name exists; "
                                 "give a folder name")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=_parent(target)))
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            if old is not None: os.replace(old, target)  # put the earlier folder back
            raise
        if old is not None: shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
