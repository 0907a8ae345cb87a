"""All-or-nothing output: files and directories appear complete or not at all.

Every output of the ``liqsim`` command goes through here: content is written into a
temporary sibling and renamed into place (``os.replace`` is atomic on POSIX within one
file system), so an interrupted or failed run leaves no half-written file.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary directory; on success move its files into ``target``.

    Files are staged next to ``target`` and each is renamed into place only after the
    block finished without an exception; on error the staging directory is removed and
    ``target`` is left as it was.
    """
    target = pathlib.Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield stage
        target.mkdir(parents=True, exist_ok=True)
        for item in sorted(stage.iterdir()):
            os.replace(item, target / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_json(path: pathlib.Path, data) -> None:
    """Write ``data`` as stable, sorted, indented JSON (byte-identical for equal data)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
