"""Move manifests: what a move wrote, signed so that ``--undo`` can trust it.

A manifest is plain JSON in the folder the files were moved to, so anyone who can
write there can edit it. Undo would then restore "files" wherever the edited
manifest says. To prevent that, a manifest carries an HMAC-SHA256 over its whole
content, keyed by a per-user secret kept outside every move folder
(:func:`key_path`: ``$XDG_CONFIG_HOME/mmselfsup_ext/manifest.key``, by default
under ``~/.config``; created on the first move, mode 0600). Undo restores into
the recorded source folder only when the signature checks out; otherwise (an
edited manifest, one written by another user or machine, or a manifest from
before signing) the user must name the folder to restore into, and nothing is
restored outside it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..validation import one_line
from .writers import atomic_write_text

__all__ = ["MANIFEST_FORMAT", "Manifest", "ManifestWarning", "key_path", "read_manifest",
           "write_manifest"]

MANIFEST_FORMAT = "mmselfsup_ext.dedup.move-manifest"
_VERSION = 2
_KEY_BYTES = 32
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Fields of one entry and the type each must have.
_ENTRY_TYPES = {"source": str, "destination": str, "size": int, "sha256": str, "moved": bool}


class ManifestWarning(UserWarning):
    """A manifest could not be signed; undoing it will need the restore folder named."""


@dataclass
class Manifest:
    """A move manifest as read back.

    Attributes
    ----------
    source_root : pathlib.Path
        The folder the files were moved from, as recorded.
    files : list of dict
        One entry per file (``source``, ``destination``, ``size``, ``sha256``,
        ``moved``; ``link`` for a symbolic link), each checked for type and form.
    signed : bool
        Whether the manifest's signature verified with this user's key: only then
        are its folders the tool's own record rather than someone's edit.
    """

    source_root: Path
    files: list[dict]
    signed: bool


def key_path() -> Path:
    """Where this user's manifest-signing key lives (outside every move folder)."""
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"),
                                                              ".config")
    return Path(config) / "mmselfsup_ext" / "manifest.key"


def _read_key() -> bytes | None:
    try:
        key = key_path().read_bytes()
    except OSError:
        return None
    return key if len(key) == _KEY_BYTES else None


def _create_key() -> bytes | None:
    path = key_path()
    key = _read_key()
    if key is not None:
        return key
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: of two first moves, one creates the key and the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key()
    except OSError as exc:
        warnings.warn(f"cannot create the manifest-signing key {path} "
                      f"({one_line(exc.strerror or exc)}); undoing this move will need "
                      "--restore-to FOLDER", ManifestWarning, stacklevel=3)
        return None
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(_KEY_BYTES))
    return _read_key()


def _canonical(manifest: dict) -> bytes:
    # ASCII escapes keep non-UTF-8 file names (surrogate escapes) representable.
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _mac(key: bytes, manifest: dict) -> str:
    return hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()


def write_manifest(path: Path, root: Path, dest: Path, entries: list[dict]) -> None:
    """Write (or rewrite) a move manifest atomically, signed with this user's key.

    Parameters
    ----------
    path : pathlib.Path
        The manifest file, inside ``dest``.
    root, dest : pathlib.Path
        Folder the files are moved from, folder they are moved to.
    entries : list of dict
        One entry per file, as :class:`Manifest` describes.
    """
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": _VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source_root": os.path.abspath(root),
        "destination_root": os.path.abspath(dest),
        "files": entries,
    }
    key = _create_key()
    if key is not None:
        manifest["mac"] = _mac(key, manifest)
    atomic_write_text(path, json.dumps(manifest, indent=2, ensure_ascii=True) + "\n")


def _entry_problem(entry: object) -> str | None:
    if not isinstance(entry, dict):
        return "an entry is not an object"
    for name, kind in _ENTRY_TYPES.items():
        value = entry.get(name, True if name == "moved" else None)
        # bool is an int subclass: a size of true is not a size.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"an entry's {name!r} is missing or not a {kind.__name__}"
    if entry["size"] < 0 or not _SHA256.fullmatch(entry["sha256"]):
        return "an entry has a negative size or a malformed sha256"
    if "link" in entry and not (isinstance(entry["link"], str) and entry["link"]):
        return "an entry's 'link' is not a non-empty string"
    if not (os.path.isabs(entry["source"]) and os.path.isabs(entry["destination"])):
        return "an entry's paths are not absolute"
    if "\x00" in entry["source"] + entry["destination"] + entry.get("link", ""):
        return "an entry's path holds a NUL character"
    return None


def read_manifest(path: str | os.PathLike) -> Manifest:
    """Read and check a move manifest as a whole.

    Raises
    ------
    ValueError
        One line: the file is missing, unreadable, not a move manifest, or any
        entry is malformed (wrong type, relative path, bad checksum field, the same
        source or destination listed twice).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"manifest {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"manifest {str(path)!r} is a directory, not a manifest file") from None
    except (OSError, UnicodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"cannot read manifest {str(path)!r}: {one_line(exc)}") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{str(path)!r} is not a move manifest written by this tool")
    files = data.get("files")
    if not isinstance(files, list):
        raise ValueError(f"manifest {str(path)!r} has no 'files' list")
    problem = next(filter(None, map(_entry_problem, files)), None)
    if problem is None and (len({e["source"] for e in files}) < len(files)
                            or len({e["destination"] for e in files}) < len(files)):
        problem = "a source or destination is listed twice"
    if problem is not None:
        raise ValueError(f"manifest {str(path)!r} has a malformed 'files' list: {problem}")
    source_root = data.get("source_root")
    if not isinstance(source_root, str) or not os.path.isabs(source_root):
        raise ValueError(f"manifest {str(path)!r} does not name the folder the files came from")
    key, mac = _read_key(), data.get("mac")
    signed = (key is not None and isinstance(mac, str)
              and hmac.compare_digest(mac, _mac(key, data)))
    return Manifest(Path(source_root), files, signed)
