"""Writable cache directories for the libraries dnalm uses, chosen when the CLI starts.

A container started as `-u $(id -u):$(id -g)` (the docker profile) runs as a user without a home: HOME is `/`
and nothing is writable but the bind mounts. numba's `cache=True` functions in umap then fail on import
(lmcinnes/umap#715), matplotlib rebuilds its font cache in a new temporary directory on every run, and
DeepSpeed cannot compile its ops. `use_writable_caches()` runs before any of them is imported and points each
cache variable that is unset, or set to a place this user cannot write, at a writable directory:

- `$DNALM_CACHE_DIR/<cache>` when DNALM_CACHE_DIR is set and writable (the workflow sets it to a directory
  under the checkpoint root, which every container profile mounts, so caches outlive the tasks). An unset
  variable goes there even when its library's default would be writable.
- Otherwise, only where the library's default is not writable, a fallback: `$XDG_CACHE_HOME/dnalm` or
  `$HOME/.cache/dnalm` when writable, else `<temp dir>/dnalm-cache-<uid>` (private to this user).

A variable already set to a writable place is never changed. Standard library only, Python 3.6 syntax.
"""

import getpass
import logging
import os
import stat
import tempfile

# (variable, subdirectory of the cache root)
CACHES = (
    ("XDG_CACHE_HOME", "xdg"),
    ("NUMBA_CACHE_DIR", "numba"),
    ("MPLCONFIGDIR", "matplotlib"),
    ("HF_HOME", "huggingface"),
    ("TRITON_CACHE_DIR", "triton"),
    ("TORCH_EXTENSIONS_DIR", "torch_extensions"),
    ("TORCHINDUCTOR_CACHE_DIR", "torchinductor"),
)

log = logging.getLogger("dnalm")


def writable(path):
    """Whether `path` is a directory this user can write, or `mkdir -p` could make it one."""
    path = os.path.abspath(path)
    while True:
        if os.path.isdir(path):
            return os.access(path, os.W_OK | os.X_OK)
        if os.path.lexists(path):  # a file or a dangling link in the way
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


def default_locations(name, env):
    """Where a library writes when `name` is unset; None when that cannot be told (no home, no user name)."""
    home = env.get("HOME") or os.path.expanduser("~")
    if not home or home.startswith("~"):
        return None
    cache = env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    config = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    if name == "XDG_CACHE_HOME":
        return [os.path.join(home, ".cache")]
    if name == "MPLCONFIGDIR":  # matplotlib writes its config and its font cache
        return [os.path.join(config, "matplotlib"), os.path.join(cache, "matplotlib")]
    if name == "TRITON_CACHE_DIR":
        return [os.path.join(env.get("TRITON_HOME") or home, ".triton", "cache")]
    if name == "TORCHINDUCTOR_CACHE_DIR":  # <temp>/torchinductor_<user name>; no name for an unknown uid
        try:
            user = getpass.getuser()
            return [os.path.join(tempfile.gettempdir(), "torchinductor_" + user)]
        except (KeyError, OSError):
            return None
    sub = {"NUMBA_CACHE_DIR": "numba", "HF_HOME": "huggingface", "TORCH_EXTENSIONS_DIR": "torch_extensions"}
    return [os.path.join(cache, sub[name])]


def _private_temp_dir():
    """<temp dir>/dnalm-cache-<uid>, made 0700 and checked to be this user's own (not a planted link)."""
    uid = os.getuid()
    path = os.path.join(tempfile.gettempdir(), "dnalm-cache-{}".format(uid))
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o022:
        return path
    return tempfile.mkdtemp(prefix="dnalm-cache-{}-".format(uid))


def _fallback_root(env):
    home = env.get("HOME") or os.path.expanduser("~")
    for base in (env.get("XDG_CACHE_HOME"), os.path.join(home, ".cache") if home and home[0] != "~" else None):
        if base and writable(os.path.join(base, "dnalm")):
            return os.path.join(base, "dnalm")
    return _private_temp_dir()


def use_writable_caches(env=None):
    """Point every cache variable of CACHES at a writable directory where it needs one (see the module doc).

    Changes `env` (os.environ by default) in place, so subprocesses inherit the choice; returns the variables
    it set, as {name: path}. Never raises: where no directory can be made, the environment stays as it was.
    """
    env = os.environ if env is None else env
    try:
        return _use_writable_caches(env)
    except OSError as exc:
        log.debug("cache directories left as they are: %s", exc)
        return {}


def _use_writable_caches(env):
    configured = env.get("DNALM_CACHE_DIR")
    use_configured = bool(configured) and writable(configured)
    redirect, overridden = [], []
    for name, sub in CACHES:
        value = env.get(name)
        if value:
            if not writable(value):
                redirect.append((name, sub))
                overridden.append("{}={}".format(name, value))
        elif use_configured:
            redirect.append((name, sub))
        else:
            defaults = default_locations(name, env)
            if defaults is None or not all(writable(p) for p in defaults):
                redirect.append((name, sub))
    if not redirect:
        return {}
    root = os.path.abspath(configured) if use_configured else _fallback_root(env)
    chosen = {}
    for name, sub in redirect:
        path = os.path.join(root, sub)
        os.makedirs(path, exist_ok=True)
        chosen[name] = path
    env.update(chosen)
    why = []
    if configured and not use_configured:
        why.append("DNALM_CACHE_DIR={} is not writable".format(configured))
    if overridden:
        why.append("not writable: " + ", ".join(overridden))
    names = ", ".join(sorted(chosen))
    if why or not use_configured:
        log.info("cache directories in %s (%s): %s", root, "; ".join(why) or "defaults not writable", names)
    else:
        log.debug("cache directories in DNALM_CACHE_DIR=%s: %s", root, names)
    return chosen
