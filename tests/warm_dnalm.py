"""A forking runner of bin/dnalm with torch and transformers already imported.

Importing transformers 5 costs ~5-7 s of CPU here (its Trainer with accelerate, scikit-learn and umap a few
more), more than most test commands take to run; the suite runs ~200 of them. Each request still runs in a process of its own (forked from this one), in its own working
directory, through bin/dnalm itself, so only the import is shared. The server runs no torch operation before
forking, so no thread pool is inherited. Requests whose environment differs from the server's run cold (see
helpers.dnalm): cache locations and thread counts are read at import time.

Protocol: one JSON object a line on stdin, {"argv", "cwd", "stdout", "stderr"}; one line back on stdout,
{"returncode"}. EOF ends the server.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import runpy
import sys

DNALM = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "bin", "dnalm")


def warm_up() -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(DNALM), os.pardir, "src"))
    from dnalm.core.caches import use_writable_caches

    use_writable_caches()  # as dnalm.cli.main does, before anything reads a cache location
    import sklearn.ensemble  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import torch  # noqa: F401
    import umap  # noqa: F401
    from transformers import (  # noqa: F401
        BertConfig,
        BertForMaskedLM,
        PreTrainedTokenizerFast,
        Trainer,
    )


def child(request: dict) -> None:
    """Becomes `bin/dnalm ARGV` in the request's directory, with its output in the request's files."""
    code = 1
    try:
        os.chdir(request["cwd"])
        for fd, path in ((0, os.devnull), (1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_RDONLY if fd == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        sys.argv = [DNALM, *request["argv"]]
        try:
            runpy.run_path(DNALM, run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, (int, type(None))):
                print(exc.code, file=sys.stderr)
        except BaseException:
            import traceback

            traceback.print_exc()
        atexit._run_exitfuncs()
        logging.shutdown()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def serve() -> None:
    warm_up()
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing but replies goes to the client's pipe
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(request)
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve()
