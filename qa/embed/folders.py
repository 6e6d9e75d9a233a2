"""Model folders built once on this machine (the e5 folder from packaged weights, its int8 ONNX export).

A build is written into a temporary sibling and renamed into place under a file lock: two processes starting at
once (server workers, a CLI beside a server) never see or produce a half-written folder, and a failed build
leaves nothing behind. Each builder writes a marker file last, so "complete" means the marker is current.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def build_once(dest: Path, is_complete: Callable[[Path], bool], write: Callable[[Path], None]) -> Path:
    """Return `dest`, first filling it with `write(folder)` unless `is_complete(dest)` already holds."""
    from filelock import FileLock

    if is_complete(dest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.parent / f".{dest.name}.lock")):
        if is_complete(dest):
            return dest
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            write(tmp)
            # mkdtemp and safetensors create owner-only files; other local users (a service account) read them
            for path in [tmp, *tmp.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            if dest.exists():
                # an incomplete or outdated build: nobody else is writing it (we hold the lock)
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dest
