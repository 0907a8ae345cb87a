"""All-or-nothing output: files and directories appear complete or not at all.

Every output of the ``liqsim`` command goes through here: content is written into a
temporary sibling and renamed into place (``os.replace`` is atomic on POSIX within one
file system), so an interrupted or failed run leaves no half-written file.
"""
from __future__ import annotations

import errno
import json
import os
import pathlib
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator


def check_out(target: str | os.PathLike) -> None:
    """Refuse an output directory that is an existing file, or that cannot be written: the
    nearest existing directory above it (where ``atomic_dir`` stages) and ``target`` itself
    if it exists must take a new entry (``OSError`` naming ``target``).  The CLI calls this
    before a run starts, so no run is lost at the end.  Probed by making and removing an
    empty directory in each (``os.access`` says yes to root on a read-only /sys); nothing
    is left behind.  O(depth of the path)."""
    if os.path.exists(target) and not os.path.isdir(target):
        raise OSError(errno.ENOTDIR, "exists and is not a directory", str(target))
    path = pathlib.Path(target).absolute()
    base = path.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    for where in (base, path) if path.is_dir() else (base,):
        try:
            os.rmdir(tempfile.mkdtemp(prefix=f".{path.name}.", dir=where))
        except OSError as exc:      # name the user's path, not the probe
            raise OSError(exc.errno, f"cannot write output there ({exc.strerror})",
                          str(target)) from None


@contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary directory; on success move its entries into ``target``.

    Entries are staged next to ``target`` and each is renamed into place only after the
    block finished without an exception; on error the staging directory is removed and
    ``target`` is left as it was.  An entry replaces what ``target`` already holds under
    its name -- a file atomically (``os.replace``); a directory (one run of a comparison)
    by moving the old one into the stage first, since ``os.replace`` cannot overwrite a
    non-empty directory -- so re-running into the same ``--out`` works.  Other entries of
    ``target`` are kept.  O(entries) renames, plus deleting what was replaced.
    """
    target = pathlib.Path(target)
    check_out(target)
    # Stage in the nearest directory that exists, so a failed run creates no parents of
    # ``target`` either; they are made only once everything is written.
    base = target.absolute().parent
    while not base.exists() and base != base.parent:
        base = base.parent
    try:
        stage = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=base))
    except OSError as exc:      # name the user's path, not our temporary one
        raise OSError(exc.errno, f"cannot write output there ({exc.strerror})",
                      str(target)) from None
    try:
        yield stage
        target.mkdir(parents=True, exist_ok=True)
        replaced = stage / ".replaced"
        for item in sorted(p for p in stage.iterdir() if p != replaced):
            dest = target / item.name
            if dest.is_dir() and not dest.is_symlink() or item.is_dir() and dest.exists():
                replaced.mkdir(exist_ok=True)
                os.replace(dest, replaced / item.name)
            os.replace(item, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_json(path: pathlib.Path, data) -> None:
    """Write ``data`` as stable, sorted, indented JSON (byte-identical for equal data)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
