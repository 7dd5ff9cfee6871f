"""`python -m dnalm ...`: the CLI. `python -m dnalm launch ...` goes straight to the launcher, which needs only
the standard library of Python 3.6 or later (a cluster node's host Python cannot compile the rest of dnalm)."""

import sys

if sys.argv[1:] == ["--version"]:  # what every workflow task reports, also on a host Python or in a -stub run
    from dnalm import __version__

    print("dnalm " + __version__)
    raise SystemExit(0)

if sys.argv[1:2] == ["launch"]:
    from dnalm.pretraining.launch import main as launch_main

    def cli(args):  # a one-process launch runs its dnalm command here, where this Python can import it
        from dnalm.cli import main as cli_main

        return cli_main(args)

    raise SystemExit(launch_main(sys.argv[2:], here=cli if sys.version_info >= (3, 10) else None))

from dnalm.cli import main  # noqa: E402

raise SystemExit(main())
