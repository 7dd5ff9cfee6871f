"""`python -m dnalm ...`: the CLI. `python -m dnalm launch ...` goes straight to the launcher, which needs only
the standard library of Python 3.6 or later (a cluster node's host Python cannot compile the rest of dnalm)."""

import sys

if sys.argv[1:2] == ["launch"]:
    from dnalm.launch import main as launch_main

    raise SystemExit(launch_main(sys.argv[2:]))

from dnalm.cli import main  # noqa: E402

raise SystemExit(main())
