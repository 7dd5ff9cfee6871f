"""Cache directories: every step runs as a user without a home, as the docker profile's `-u uid:gid` makes it.

There HOME is `/` and nothing is writable but the bind mounts: numba's `cache=True` in umap fails on import
(lmcinnes/umap#715) and matplotlib falls back to a new temporary directory on every run. The end-to-end tests
here run real steps as a uid without a passwd entry, with HOME=/ and no cache variable set.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import DNALM, LAMBDA, dnalm

from dnalm.core import caches
from dnalm.core.caches import CACHES, use_writable_caches

NAMES = [name for name, _ in CACHES]
MPL_FALLBACK = "Matplotlib created a temporary cache directory"


@pytest.fixture
def blocked(tmp_path) -> Path:
    """A regular file: nothing below it can be made, for root too (os.access says yes to root elsewhere)."""
    path = tmp_path / "a_file"
    path.write_text("")
    return path


def test_unset_caches_with_writable_defaults_and_writable_settings_are_kept(tmp_path):
    env = {"HOME": str(tmp_path / "home"), "NUMBA_CACHE_DIR": str(tmp_path / "mine")}
    assert use_writable_caches(env) == {}
    assert env == {"HOME": str(tmp_path / "home"), "NUMBA_CACHE_DIR": str(tmp_path / "mine")}


def test_unwritable_settings_go_to_the_fallback_under_a_writable_home(tmp_path, blocked):
    env = {"HOME": str(tmp_path / "home"), "TORCH_EXTENSIONS_DIR": str(blocked / "torch_extensions"),
           "MPLCONFIGDIR": str(tmp_path / "mpl")}
    chosen = use_writable_caches(env)
    fallback = tmp_path / "home" / ".cache" / "dnalm"
    assert chosen == {"TORCH_EXTENSIONS_DIR": str(fallback / "torch_extensions")}
    assert env["TORCH_EXTENSIONS_DIR"] == str(fallback / "torch_extensions") and (fallback / "torch_extensions").is_dir()
    assert env["MPLCONFIGDIR"] == str(tmp_path / "mpl")  # writable (made when needed): kept


def test_dnalm_cache_dir_takes_every_unset_cache(tmp_path, blocked):
    root = tmp_path / "ck" / "caches"
    env = {"HOME": str(tmp_path / "home"), "DNALM_CACHE_DIR": str(root), "HF_HOME": str(tmp_path / "hf"),
           "TRITON_CACHE_DIR": str(blocked / "triton")}
    chosen = use_writable_caches(env)
    assert env["HF_HOME"] == str(tmp_path / "hf") and "HF_HOME" not in chosen
    for name, sub in CACHES:
        if name != "HF_HOME":
            assert env[name] == chosen[name] == str(root / sub) and (root / sub).is_dir()


def test_without_a_writable_home_caches_go_to_a_private_temp_dir(tmp_path, blocked, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    env = {"HOME": str(blocked), "DNALM_CACHE_DIR": str(blocked / "caches")}  # neither is writable
    chosen = use_writable_caches(env)
    private = tmp_path / "tmp" / f"dnalm-cache-{os.getuid()}"
    # all but torch inductor's, which goes to <temp>/torchinductor_<user> (writable) by default
    assert sorted(chosen) == sorted(set(NAMES) - {"TORCHINDUCTOR_CACHE_DIR"})
    assert all(Path(p).parent == private for p in chosen.values())
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def test_a_planted_temp_dir_is_not_used(tmp_path, blocked, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "tmp" / f"dnalm-cache-{os.getuid()}").symlink_to(tmp_path / "elsewhere")
    chosen = use_writable_caches({"HOME": str(blocked)})
    used = Path(chosen["NUMBA_CACHE_DIR"]).parent
    assert used.parent == tmp_path / "tmp" and used.name.startswith(f"dnalm-cache-{os.getuid()}-")
    assert not any((tmp_path / "elsewhere").iterdir())


def test_failures_leave_the_environment_as_it_was(tmp_path, blocked, monkeypatch):
    def no_temp():
        raise FileNotFoundError("no usable temporary directory")

    monkeypatch.setattr(caches, "_private_temp_dir", no_temp)
    env = {"HOME": str(blocked)}
    assert use_writable_caches(env) == {} and env == {"HOME": str(blocked)}


# --- real steps as a container user without a home ---------------------------------------------------------

def _unknown_id() -> int:
    """A uid/gid with no passwd or group entry, as `docker run -u $(id -u):$(id -g)` usually gives."""
    for n in range(54321, 60000):
        try:
            pwd.getpwuid(n)
            continue
        except KeyError:
            pass
        try:
            grp.getgrgid(n)
        except KeyError:
            return n
    pytest.skip("no free uid/gid for a test user")


@pytest.fixture(scope="module")
def homeless(tmp_path_factory):
    """(run as the test user, base directory): a tiny lambda-phage chain made here, readable by that user."""
    if os.geteuid() != 0:
        pytest.skip("running steps as another user needs root")
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) not installed")
    uid = _unknown_id()
    # pytest's tmp dirs are 0700 under root's own directory: this user needs one it can reach
    base = Path(tempfile.mkdtemp(prefix="dnalm-caches-"))
    try:
        base.chmod(0o755)
        g, v, t, w = (base / d for d in ("genome", "vocab", "tokenized", "windows"))
        dnalm("prepare-genome", "--fasta", LAMBDA, "--out", g)
        dnalm("kmer-vocab", "--kind", "kmer", "--k", "4", "--out", v)
        dnalm("tokenize-genome", "--genome", g, "--vocab", v, "--out", t)
        dnalm("make-windows", "--tokenized", t, "--holdout-regions", g / "holdout_default.bed", "--out", w)
        dnalm("word2vec", "--tokenized", t, "--windows", w, "--vector-size", "16", "--name", "w2v",
              "--out", base / "w2v")
        for path in base.rglob("*"):
            path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))

        def run(args, cwd: Path, **extra):
            cwd.mkdir()
            os.chown(cwd, uid, uid)
            (cwd / "tmp").mkdir()
            os.chown(cwd / "tmp", uid, uid)
            # the whole environment of `docker run -u`: no cache variable, HOME=/ (not writable for the user)
            env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/", "TMPDIR": str(cwd / "tmp"),
                   "TOKENIZERS_PARALLELISM": "false", **extra}
            return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                                   sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                                  text=True, timeout=300)

        probe = run(["-c", "import os, numpy, dnalm; print(os.access('/', os.W_OK))"], base / "probe",
                    PYTHONPATH=str(DNALM.parents[1] / "src"))
        if probe.returncode != 0:
            pytest.skip(f"uid {uid} cannot run {sys.executable} from this checkout: {probe.stderr[-300:]}")
        assert probe.stdout.strip() == "False"  # HOME=/ is not writable for the test user
        yield run, base, uid
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_embedding_report_as_a_user_without_home_keeps_caches_in_dnalm_cache_dir(homeless):
    run, base, uid = homeless
    cache = base / "report" / "checkpoints" / "caches"  # as the workflow sets it, under the checkpoint root
    proc = run([DNALM, "embedding-report", "--embeddings", base / "w2v", "--out", base / "report" / "out"],
               base / "report", DNALM_CACHE_DIR=str(cache))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (base / "report" / "out" / "w2v_umap.png").read_bytes()[:4] == b"\x89PNG"
    assert list((cache / "numba").rglob("*.nbi")), "numba's cache is not in DNALM_CACHE_DIR"
    assert list((cache / "matplotlib").glob("fontlist-*.json")), "matplotlib's cache is not in DNALM_CACHE_DIR"
    assert all(p.stat().st_uid == uid for p in cache.rglob("*"))
    assert MPL_FALLBACK not in proc.stderr and not list((base / "report" / "tmp").iterdir())


@pytest.mark.slow
def test_pretraining_as_a_user_without_home_or_dnalm_cache_dir_uses_a_private_temp_dir(homeless):
    run, base, uid = homeless
    out = base / "pretrain" / "m"
    proc = run([DNALM, "pretrain", "--tokenized", base / "tokenized", "--windows", base / "windows",
                "--preset", "tiny", "--checkpoint-dir", base / "pretrain" / "ck", "--max-steps", "3",
                "--save-steps", "3", "--warmup-steps", "1", "--batch-size", "8", "--out", out], base / "pretrain")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "metrics.json").is_file() and (out / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    private = base / "pretrain" / "tmp" / f"dnalm-cache-{uid}"
    assert list((private / "matplotlib").glob("fontlist-*.json")), proc.stderr[-2000:]
    assert MPL_FALLBACK not in proc.stderr
    assert "cache directories in" in proc.stderr  # the one line that says where they went
