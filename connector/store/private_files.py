"""Files holding mail or secrets are ours alone: take group and other access away from what is not.

Files the connector creates today are 0600 in 0700 directories from the start. Data directories
written by an older version (or copied in by hand) may hold 0644 attachments, spool files or
keys; `restrict_tree` closes them once, when the daemon starts, and says what it changed.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)


def restrict(path: Path) -> bool:
    """Take group and other access away from one regular file or directory. True when it changed."""
    try:
        status = path.lstat()
    except FileNotFoundError:
        return False
    return _restrict(path, status)


def restrict_tree(root: Path) -> int:
    """`restrict` the directory and everything below it (symbolic links are neither followed nor
    changed). Returns how many entries were changed; logs one line for the whole tree."""
    if not root.is_dir() or root.is_symlink():
        return 0
    changed, stack = int(restrict(root)), [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            try:
                status = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(status.st_mode):
                stack.append(Path(entry.path))
            changed += _restrict(Path(entry.path), status, quiet=True)
    if changed:
        log.warning("%d files or directories under %s were readable by others; they are now ours alone",
                    changed, root)
    return changed


def _restrict(path: Path, status: os.stat_result, quiet: bool = False) -> bool:
    mode = stat.S_IMODE(status.st_mode)
    if not (stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode)) or not mode & 0o077:
        return False
    try:
        path.chmod(mode & 0o700)
    except PermissionError as exc:          # not ours to change: still usable, so say so and carry on
        log.warning("%s is readable by others (mode %o) and cannot be restricted: %s", path, mode, exc.strerror)
        return False
    if not quiet:
        log.warning("%s was readable by others (mode %o); it is now %o", path, mode, mode & 0o700)
    return True
