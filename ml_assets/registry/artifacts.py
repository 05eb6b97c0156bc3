"""Artifact folders on disk: where they live, their digest, durable renames.

Layout: ``<model_dir>/<model_name>/v0007-1a2b3c4d/`` holds one registered
version; ``.tmp-*`` folders beside it are registrations in progress (or left
by a process that died). The random suffix means a folder renamed by a process
that died before committing can never be mistaken for a later version 7.

The digest is sha256 over every regular file below the folder, in sorted
order of the relative POSIX path; for each file it hashes the path (UTF-8),
a NUL byte, the file size as 8 big-endian bytes, then the bytes. Renaming,
adding, removing or editing any file changes it. Content is never
interpreted, so nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path

TMP_PREFIX = ".tmp-"
_VERSION_FOLDER = re.compile(r"^v\d{4,}-[0-9a-f]{8}$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CHUNK = 1 << 20


def artifact_digest(folder: Path) -> str:
    """sha256 hex digest of a folder's files (paths and bytes), as described above."""
    folder = Path(folder)
    files = _artifact_files(folder)
    if not files:
        raise ValueError(
            f"The artifact folder {folder} holds no files; write_files must write the model."
        )
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode("utf-8") + b"\0")
        digest.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def model_home(model_dir: str | Path, model_name: str) -> Path:
    """The absolute folder holding every version of ``model_name``."""
    if not _MODEL_NAME.match(model_name or ""):
        raise ValueError(
            f"Model name {model_name!r} cannot be a folder name: use letters, digits, '_', '-' "
            "or '.', starting with a letter or digit (e.g. 'churn_model')."
        )
    return Path(model_dir).resolve() / model_name


def new_tmp_folder(home: Path) -> Path:
    """A fresh, empty folder for a registration in progress (mode from the umask,
    unlike ``tempfile.mkdtemp``'s owner-only 0700, so other users can load it)."""
    home.mkdir(parents=True, exist_ok=True)
    folder = home / f"{TMP_PREFIX}{secrets.token_hex(8)}"
    folder.mkdir()
    return folder


def version_folder(home: Path, version: int) -> Path:
    """A new, unique final folder name for ``version``."""
    return home / f"v{version:04d}-{secrets.token_hex(4)}"


def is_version_folder(path: Path) -> bool:
    return path.is_dir() and bool(_VERSION_FOLDER.match(path.name))


def is_confined(folder: Path, model_name: str, version: int, home: Path | None = None) -> bool:
    """Whether ``folder`` is an absolute, symlink-free ``<home>/<model_name>/vNNNN-xxxxxxxx``
    folder of ``version`` (``home`` None: under any directory)."""
    folder = Path(folder)
    return (
        folder.is_absolute()
        and folder.resolve() == folder
        and folder.parent.name == model_name
        and bool(_VERSION_FOLDER.match(folder.name))
        and folder.name.startswith(f"v{version:04d}-")
        and (home is None or folder.parent == home)
    )


def is_tmp_folder(path: Path) -> bool:
    return path.is_dir() and path.name.startswith(TMP_PREFIX)


def sync_tree(folder: Path) -> None:
    """Flush the folder's files and entries to disk, so a committed row never
    outlives its bytes after a power cut."""
    for _, path in _artifact_files(folder):
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    sync_dir(folder)


def sync_dir(folder: Path) -> None:
    """Flush a directory's entries (a rename inside it) to disk; POSIX only."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_folder(path: Path) -> None:
    """Delete a folder tree; a missing folder is already the wanted state."""
    if path.exists():
        shutil.rmtree(path)


def _artifact_files(folder: Path) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        raise FileNotFoundError(f"Artifact folder {folder} does not exist.")
    files = []
    for path in folder.rglob("*"):
        if path.is_symlink():
            raise ValueError(
                f"{path} is a symbolic link; artifacts must hold regular files only, "
                "so that their digest covers what is loaded."
            )
        if path.is_file():
            files.append((path.relative_to(folder).as_posix(), path))
    return sorted(files)
