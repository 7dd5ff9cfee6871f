"""Atomic outputs: a step's directory appears complete or not at all.

Nextflow's `-resume` and users alike trust that an output directory which exists is whole, so every
subcommand builds its `--out` directory under a hidden temporary sibling and renames it into place only
after the last file is written. A failure removes the temporary directory; a killed run cannot, so the
next run on the same host that writes beside it removes the partials whose process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Any, Iterable, Iterator

from dnalm.core.errors import InputError
from dnalm.core.logs import log


@contextlib.contextmanager
def atomic_directory(out: Path) -> Iterator[Path]:
    """Yield a temporary directory that becomes `out` when the block finishes without error.

    Partials that killed runs on this host left in `out`'s parent (of any output) are removed first. A
    complete `out` is never replaced: of two runs into one `out`, the second to finish fails and removes its
    partial. Errors about the hidden partial name `--out` instead, the path the user knows."""
    out = Path(out)
    _refuse_existing(out)
    tmp = _partial(out, os.getpid())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(out.parent)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as exc:
        raise _out_error(exc, tmp, out) from None
    try:
        yield tmp
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and _inside(exc.filename, tmp):
            raise _out_error(exc, tmp, out) from None
        raise
    _publish(tmp, out)
    log.info("wrote %s", out)


def _refuse_existing(out: Path) -> None:
    """An `out` that exists is refused unless it is an empty directory: nothing complete is ever replaced."""
    if out.is_dir() and not any(out.iterdir()):
        return
    if out.is_dir():
        raise InputError(f"--out {out}: already exists and is not empty; choose a new directory")
    if out.exists() or out.is_symlink():
        raise InputError(f"--out {out}: is a file, not a directory; choose a new directory")


def _partial(path: Path, pid: int) -> Path:
    """The hidden sibling a run builds `path` in: named by host and PID, so that a later run can tell whether
    its owner is alive (PIDs of other hosts on a shared file system say nothing)."""
    return path.parent / f".{path.name}.partial-{socket.gethostname()}-{pid}"


def remove_stale_partials(directory: Path) -> None:
    """Remove the partials in `directory` (of `atomic_directory` and `atomic_file`, of any output) whose run
    on this host is dead: a killed run cannot remove its own, and nothing else would. Those of live runs and
    of other hosts are left alone."""
    own = re.compile(rf"\..+\.partial-{re.escape(socket.gethostname())}-(\d+)")
    removed = []
    for path in Path(directory).glob(".*.partial-*"):
        match = own.fullmatch(path.name)
        if match and not _alive(int(match.group(1))):
            _remove(path)
            removed.append(path.name)
    if removed:
        log.info("removed %d partial output(s) of killed runs in %s: %s", len(removed), directory,
                 ", ".join(sorted(removed)))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        pass
    return True


def _publish(tmp: Path, out: Path) -> None:
    """Rename `tmp` to `out`. The rename replaces only a missing or empty `out`, so a complete output that
    another run published meanwhile stays; this run's copy is then removed."""
    try:
        os.replace(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise InputError(f"--out {out}: another run wrote it first; this run's output was discarded") from None
        raise _out_error(exc, tmp, out) from None


def _inside(filename: object, tmp: Path) -> bool:
    return isinstance(filename, (str, os.PathLike)) and (Path(filename) == tmp or tmp in Path(filename).parents)


def _out_error(exc: OSError, tmp: Path, out: Path) -> InputError:
    """`--out PATH: reason`, with the partial's name in `exc.filename` mapped back to `out`."""
    if _inside(exc.filename, tmp):
        return InputError(f"--out {out / Path(exc.filename).relative_to(tmp)}: {exc.strerror or exc}")
    where = f"{exc.filename}: " if exc.filename and Path(exc.filename) != out else ""
    return InputError(f"--out {out}: {where}{exc.strerror or exc}")


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling that becomes `path` when the block finishes without error: state kept
    between runs (resume batches, fingerprint records) is then whole or absent, never truncated. The siblings
    that killed runs left beside it are removed first."""
    path = Path(path)
    remove_stale_partials(path.parent)
    tmp = _partial(path, os.getpid())
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    """Write indented, key-sorted JSON so reruns produce byte-identical files."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_tsv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> None:
    """Write a tidy tab-separated table; floats with 6 significant digits."""
    with open(path, "w") as fh:
        fh.write("\t".join(header) + "\n")
        for row in rows:
            fh.write("\t".join(tsv_cell(v) for v in row) + "\n")


def tsv_cell(value: Any) -> str:
    """Floats with 6 significant digits (enough for every metric, and stable across platforms)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
