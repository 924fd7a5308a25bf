"""File actions on a deduplication result: copy the kept images, move the removed ones,
undo a move.

Safety rules: nothing is ever deleted or overwritten. Copies and moves create
their destination files exclusively (an existing file is a reported conflict);
a move removes the source only after the file exists at the destination with
the same SHA-256; ``undo`` refuses to overwrite a file that reappeared at the
source and refuses to restore a file whose content changed since the move.
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import is_within
from .manifest import read_manifest, write_manifest

__all__ = ["ActionReport", "copy_unique", "move_duplicates", "undo_move", "sha256_file"]

_CHUNK = 1 << 20


@dataclass
class ActionReport:
    """Outcome of one action.

    Attributes
    ----------
    action : str
        ``"copy"``, ``"move"`` or ``"undo"``.
    done : list of (str, str)
        ``(source, destination)`` of every file copied/moved/restored.
    skipped : list of (str, str)
        ``(path, reason)`` for files needing no work (identical copy present,
        already restored).
    conflicts : list of (str, str)
        ``(path, reason)`` for files left untouched because acting would have
        overwritten or lost data.
    manifest : pathlib.Path or None
        The manifest written by a move.
    """

    action: str
    done: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    manifest: Path | None = None

    @property
    def ok(self) -> bool:
        """True when no file was left in conflict."""
        return not self.conflicts


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _same_content(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and sha256_file(a) == sha256_file(b)


def _copy_exclusive(src: Path, dst: Path) -> None:
    """Copy bytes and metadata (like ``shutil.copy2``) without ever overwriting ``dst``.

    Opening with mode ``"xb"`` fails atomically if ``dst`` exists, closing the
    window between an existence check and the copy.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(src, "rb") as fin, open(dst, "xb") as fout:
            shutil.copyfileobj(fin, fout, _CHUNK)
        shutil.copystat(src, dst)
    except FileExistsError:
        raise
    except BaseException:
        if dst.exists():
            dst.unlink()
        raise


def _move_verified(src: Path, dst: Path, sha256: str) -> None:
    """Move ``src`` to a not-yet-existing ``dst``; the source goes only after the
    destination is known to hold the same bytes."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        # A hard link is an atomic, no-overwrite move on one file system.
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP,
                             errno.EMLINK, errno.EACCES):
            raise
        _copy_exclusive(src, dst)
        if sha256_file(dst) != sha256:
            dst.unlink()
            raise OSError(f"copy of {src} to {dst} does not match the source") from None
    os.unlink(src)


def copy_unique(root: str | os.PathLike, rel_paths: Iterable[str],
                dest: str | os.PathLike) -> ActionReport:
    """Copy kept images from ``root`` to ``dest``, preserving relative paths.

    Parameters
    ----------
    root : path-like
        Input folder the relative paths refer to (read only).
    rel_paths : iterable of str
        ``/``-separated paths relative to ``root`` (e.g. ``keep.txt``).
    dest : path-like
        Destination folder; created if needed. Must not lie inside ``root``.

    Returns
    -------
    ActionReport
        An identical file already at the destination is skipped; a different
        one is a conflict and is not overwritten.
    """
    root, dest = Path(root), Path(dest)
    if is_within(dest, root):
        raise ValueError(f"copy destination {str(dest)!r} lies inside the input folder "
                         f"{str(root)!r}; the source folder must stay unchanged")
    report = ActionReport("copy")
    for rel in rel_paths:
        src, dst = root / rel, dest / rel
        try:
            _copy_exclusive(src, dst)
        except FileExistsError:
            if _same_content(src, dst):
                report.skipped.append((rel, "identical file already at destination"))
            else:
                report.conflicts.append(
                    (rel, f"{dst} exists with different content; not overwritten"))
            continue
        except OSError as exc:
            report.conflicts.append((rel, f"copy failed: {exc.strerror or exc}"))
            continue
        report.done.append((str(src), str(dst)))
    return report


def _free_manifest_path(dest: Path) -> Path:
    # A folder reused for a second move keeps the first manifest (undo needs it).
    candidate, n = dest / "manifest.json", 1
    while candidate.exists():
        candidate, n = dest / f"manifest-{n}.json", n + 1
    return candidate


def _move_link(src: Path, dst: Path) -> None:
    """Move the symbolic link ``src`` itself (never its target) to a new ``dst``.

    The moved link points at the target's absolute path, so it still shows the image
    from the destination folder; the manifest keeps the original link text for undo.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.realpath(src), dst)
    os.unlink(src)


def move_duplicates(root: str | os.PathLike, rel_paths: Iterable[str],
                    dest: str | os.PathLike) -> ActionReport:
    """Move removed images from ``root`` to ``dest`` and write a manifest there.

    Parameters
    ----------
    root : path-like
        Input folder.
    rel_paths : iterable of str
        ``/``-separated paths relative to ``root`` (e.g. ``remove.txt``).
    dest : path-like
        Destination folder; must not lie inside ``root``.

    Returns
    -------
    ActionReport
        ``manifest`` is ``dest/manifest.json`` (or ``manifest-N.json`` when that
        name is taken), listing each file's absolute ``source`` and
        ``destination``, ``size``, ``sha256`` and whether it was ``moved``, signed
        (see :mod:`.manifest`). The manifest is written before the first move and
        rewritten at the end, so an interrupted move can still be undone.

    Notes
    -----
    A symbolic link is deduplicated as the image it shows, and moving it moves the
    link, never its target; the entry's ``link`` holds the link text that undo puts
    back. A file reached through a linked folder outside ``root`` is not moved
    (a conflict): moving it would change a folder outside the input.
    """
    root, dest = Path(root), Path(dest)
    if is_within(dest, root):
        raise ValueError(f"move destination {str(dest)!r} lies inside the input folder "
                         f"{str(root)!r}")
    report = ActionReport("move")
    entries: list[dict] = []
    for rel in rel_paths:
        src, dst = root / rel, dest / rel
        if dst.exists() or dst.is_symlink():
            report.conflicts.append((rel, f"{dst} already exists; not overwritten"))
            continue
        if not is_within(src.parent, root):
            report.conflicts.append((rel, "lies in a linked folder outside the input "
                                          "folder; not moved"))
            continue
        try:
            size, digest = src.stat().st_size, sha256_file(src)
            link = os.readlink(src) if src.is_symlink() else None
        except OSError as exc:
            report.conflicts.append((rel, f"cannot read source: {exc.strerror or exc}"))
            continue
        entry = {"source": os.path.abspath(src), "destination": os.path.abspath(dst),
                 "size": size, "sha256": digest, "moved": True}
        if link is not None:
            entry["link"] = link
        entries.append(entry)
    dest.mkdir(parents=True, exist_ok=True)
    report.manifest = _free_manifest_path(dest)
    # Written first with every planned file marked as moved: undo skips entries
    # whose file is still at the source, so a crash mid-way stays recoverable.
    write_manifest(report.manifest, root, dest, entries)
    for entry in entries:
        src, dst = Path(entry["source"]), Path(entry["destination"])
        try:
            if "link" in entry:
                _move_link(src, dst)
            else:
                _move_verified(src, dst, entry["sha256"])
        except OSError as exc:
            entry["moved"] = False
            report.conflicts.append((str(src), f"move failed: {exc.strerror or exc}"))
            continue
        report.done.append((str(src), str(dst)))
    write_manifest(report.manifest, root, dest, entries)
    return report


def _restore_link(entry: dict, src: Path, dst: Path) -> str | None:
    """Put a moved symbolic link back; the reason it cannot be, or None when done."""
    if not dst.is_symlink():
        return f"moved link {dst} is missing or no longer a link"
    if os.path.lexists(src):
        if src.is_symlink() and os.readlink(src) == entry["link"]:
            return ""
        return "a different file exists at the source path; not overwritten"
    src.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(entry["link"], src)
    os.unlink(dst)
    return None


def undo_move(manifest: str | os.PathLike,
              restore_to: str | os.PathLike | None = None) -> ActionReport:
    """Restore every file a move listed in ``manifest`` to its source path.

    Parameters
    ----------
    manifest : path-like
        ``manifest.json`` written by :func:`move_duplicates`.
    restore_to : path-like, optional
        The folder the files came from, confirmed by the user. Required when the
        manifest's signature does not verify with this user's key (it was edited,
        written by another user or machine, or by a version before signing); then
        nothing is restored outside this folder.

    Returns
    -------
    ActionReport
        A file already back at its source (same SHA-256) is skipped. Conflicts:
        the destination copy is missing or its content changed (checked against
        the manifest's SHA-256), a different file now exists at the source
        (never overwritten), or an entry's source lies outside the restore folder
        or its destination outside the manifest's own folder (symbolic links
        resolved; never restored).

    Raises
    ------
    ValueError
        If the manifest is missing, unreadable, malformed, or unsigned without
        ``restore_to``.
    """
    report = ActionReport("undo")
    record = read_manifest(manifest)
    if restore_to is not None:
        source_root = Path(restore_to)
        if not source_root.is_dir():
            raise ValueError(f"restore folder {str(source_root)!r} does not exist or is not "
                             "a directory")
    elif record.signed:
        source_root = record.source_root
    else:
        raise ValueError(f"manifest {str(manifest)!r} is not signed by this user's key (edited, "
                         "or written by another user, machine or version); name the folder "
                         f"to restore into: --undo MANIFEST --restore-to FOLDER (recorded: "
                         f"{str(record.source_root)!r})")
    moved_to = Path(os.path.realpath(manifest)).parent
    for entry in record.files:
        src, dst = Path(entry["source"]), Path(entry["destination"])
        # An entry may only restore into the folder the move came from, and only
        # from the folder the move wrote to (where the manifest lies), so it can
        # neither create nor remove a file anywhere else.
        if not is_within(src, source_root):
            report.conflicts.append(
                (str(src), f"lies outside the folder the files were moved from "
                           f"({source_root}); not restored"))
            continue
        # A moved link is judged by where it lies, not by the image it points at.
        inside = (is_within(dst.parent, moved_to) if "link" in entry
                  else is_within(dst, moved_to))
        if not inside:
            report.conflicts.append(
                (str(src), f"its moved copy {dst} lies outside the manifest's folder "
                           f"{moved_to}; not restored"))
            continue
        if "link" in entry:
            try:
                reason = _restore_link(entry, src, dst)
            except OSError as exc:
                reason = f"restore failed: {exc.strerror or exc}"
            if reason == "":
                report.skipped.append((str(src), "already at its source path"))
            elif reason is not None:
                report.conflicts.append((str(src), reason))
            else:
                report.done.append((str(dst), str(src)))
            continue
        at_source = src.exists() or src.is_symlink()
        if at_source:
            if src.is_file() and sha256_file(src) == entry["sha256"]:
                report.skipped.append((str(src), "already at its source path"))
            else:
                report.conflicts.append(
                    (str(src), "a different file exists at the source path; not overwritten"))
            continue
        if not dst.is_file() or dst.is_symlink():
            report.conflicts.append((str(src), f"moved copy {dst} is missing"))
            continue
        if dst.stat().st_size != entry["size"] or sha256_file(dst) != entry["sha256"]:
            report.conflicts.append(
                (str(src), f"moved copy {dst} changed since the move (SHA-256 differs)"))
            continue
        try:
            _move_verified(dst, src, entry["sha256"])
        except OSError as exc:
            report.conflicts.append((str(src), f"restore failed: {exc.strerror or exc}"))
            continue
        report.done.append((str(dst), str(src)))
    return report
