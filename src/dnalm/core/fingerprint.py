"""Fingerprints of what determines a result, so state kept between runs is reused only by the same inputs.

Pretraining checkpoints and the kept window embeddings outlive a run. Each set lives in
`<root>/<fingerprint16>/`, where the fingerprint is a BLAKE2b digest of a JSON document of the inputs
(file contents hashed in chunks, settings as values); `fingerprint.json` there lists those inputs. A run
with other inputs gets another directory and starts afresh; nothing is ever resumed across fingerprints.
The digest depends only on the inputs, so every rank of a distributed run computes the same directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from dnalm.core.errors import InputError
from dnalm.core.logs import log
from dnalm.core.outputs import atomic_file, write_json

#: Bump when the meaning of the inputs changes, so older directories are no longer matched.
VERSION = 1
FILE = "fingerprint.json"
LOCK = ".writer.lock"
CHUNK = 8 << 20


def file_digest(path: Path) -> str:
    """BLAKE2b of a file's content, read in chunks (memory stays flat whatever the file's size)."""
    h = hashlib.blake2b(digest_size=32)
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                h.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    return h.hexdigest()


def files_digest(root: Path, files: Iterable[Path]) -> str:
    """BLAKE2b over the names (relative to `root`) and contents of `files`, in name order."""
    h = hashlib.blake2b(digest_size=32)
    for path in sorted(files, key=lambda p: Path(p).relative_to(root).as_posix()):
        h.update(Path(path).relative_to(root).as_posix().encode() + b"\0")
        h.update(bytes.fromhex(file_digest(path)))
    return h.hexdigest()


def tree_digest(root: Path) -> str:
    """BLAKE2b over every file below `root` (names and contents)."""
    root = Path(root)
    return files_digest(root, [p for p in root.rglob("*") if p.is_file()])


#: Files that hold a model's weights, in the formats HF, PyTorch, TensorFlow and Flax save.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".index.json")


def model_digest(model_dir: Path, flag: str = "--model") -> str:
    """BLAKE2b of a local model's weight files and config.json (every file of the directory when it has no
    weight file we know): what its outputs depend on, not its tokenizer's or README's formatting."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError(f"{flag} {model_dir}: --resume-dir needs a local model directory (its weights are "
                         "fingerprinted)")
    files = [p for p in model_dir.rglob("*") if p.is_file()]
    chosen = [p for p in files if p.name == "config.json" or p.name.endswith(WEIGHT_SUFFIXES)]
    return files_digest(model_dir, chosen if any(p.name != "config.json" for p in chosen) else files)


def json_digest(path: Path) -> str:
    """BLAKE2b of a JSON file's parsed content, so formatting and key order do not count."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return file_digest(path)
    return digest(data)


def digest(inputs: Any) -> str:
    """BLAKE2b of the canonical JSON of `inputs`."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


def directory(root: Path, inputs: dict, sources: dict | None = None, write: bool = True) -> tuple[Path, str]:
    """`root/<first 16 hex digits>` for `inputs` (created) and the full fingerprint.

    With `write` (rank 0, or a single process) `fingerprint.json` records the inputs, and `sources` (where
    they were read, for people; not part of the fingerprint) the first time; a directory whose recorded
    inputs differ is refused.
    """
    inputs = {"version": VERSION, **inputs}
    full = digest(inputs)
    path = Path(root) / full[:16]
    path.mkdir(parents=True, exist_ok=True)
    if not write:
        return path, full
    record = path / FILE
    if record.is_file():
        try:
            kept = json.loads(record.read_text())
        except ValueError:
            kept = None
        if kept is not None and kept.get("inputs") != json.loads(json.dumps(inputs)):
            raise InputError(f"{record}: records other inputs than this run's (fingerprint {full[:16]}); "
                             "move the directory away")
        if kept is not None:
            return path, full
    with atomic_file(record) as tmp:
        write_json(tmp, {"fingerprint": full, "inputs": inputs, "sources": sources or {}})
    return path, full


@contextmanager
def one_writer(path: Path, what: str) -> Iterator[None]:
    """Wait until no other process writes into the fingerprint directory `path`, then hold it until the
    block ends. A run whose engine died leaves its task running; the rerun must not write the same
    checkpoints beside it, but wait and then reuse what it finished. The lock is the file system's (flock;
    NFS, and Lustre mounted with flock, share it between nodes); where the file system has no locks this
    says so and goes on."""
    with open(Path(path) / LOCK, "a+") as handle:
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                log.warning("%s: another process (%s) writes into %s; waiting for it to end", what,
                            handle.read().strip() or "unknown", path)
                fcntl.flock(handle, fcntl.LOCK_EX)
                log.info("%s: %s is free again", what, path)
        except OSError as exc:
            log.warning("%s: %s cannot be locked (%s): two runs of it at once would write the same files",
                        what, path, exc)
            yield
            return
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
