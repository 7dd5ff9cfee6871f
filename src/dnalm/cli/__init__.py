"""`dnalm`: one subcommand per pipeline step.

Every subcommand reads explicit inputs, writes only its `--out` directory (atomically), is deterministic
for a given `--seed`, and reports bad input as one line on stderr with exit status 2.

Each command is a module here: its docstring is its help, `add_arguments(parser)` its flags (the one place
their defaults live), and `run(args, out)` calls its stage by keyword, importing it only then, so that the
parser (and `dnalm launch`) stays light. Module flags: `OUT = False` means no `--out`; `RANK_ZERO_WRITES`
means only rank 0 of a torchrun job writes `--out`; a `default_out(args)` names the output itself when `--out`
is not given (the workflow then reads the name from the directory). A command with `--device`
(options.add_device) runs on that device.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn, Sequence

from dnalm import __version__
from dnalm.core.caches import use_writable_caches
from dnalm.core.devices import select_device
from dnalm.core.errors import InputError
from dnalm.core.logs import close_progress, setup_logging
from dnalm.core.outputs import atomic_directory

#: The subcommands, in the order of the pipeline (and of `dnalm --help`).
COMMANDS = ("prepare-genome", "prepare-annotation", "vocab-sweep", "kmer-vocab", "tokenize-genome", "make-windows",
            "pretrain", "nextkmer-data", "nextkmer-finetune", "finetune", "tfidf-baseline", "cnn-baseline", "embedding-probe", "task-prom300",
            "task-promscan", "task-ctcf", "task-import", "select-vocabulary", "finetune-report", "token-embeddings",
            "word2vec", "embedding-report", "self-similarity", "mask-predictions", "window-embeddings", "report",
            "launch", "vocab-stats", "variant-effects", "saturation-mutagenesis", "attention-motifs")


class _Parser(argparse.ArgumentParser):
    """argparse with errors on one line (no usage block), as every dnalm error is."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)  # subcommands too: argparse makes them of this class
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every default shown from the parser itself, so help and behaviour cannot disagree; not where the help
    already explains its default in words, nor where there is none (no value, off, empty)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if "default:" in (action.help or "") or default is None or default is False or default == []:
            return action.help
        return super()._get_help_string(action)

    def _expand_help(self, action: argparse.Action) -> str:
        if isinstance(action.default, list):  # as it is typed: comma-separated
            action = copy.copy(action)
            action.default = ",".join(map(str, action.default))
        return super()._expand_help(action)


def command_module(name: str) -> ModuleType:
    """The module of a subcommand (`make-windows` -> dnalm.cli.make_windows)."""
    return importlib.import_module(f"dnalm.cli.{name.replace('-', '_')}")


def build_parser() -> argparse.ArgumentParser:
    """The full CLI; static tests read it to check the Nextflow modules' flags."""
    parser = _Parser(prog="dnalm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"dnalm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = command_module(name)
        text = " ".join(module.__doc__.split()).replace("%", "%%")
        p = sub.add_parser(name, help=text, description=text)
        p.set_defaults(module=module)
        if getattr(module, "OUT", True):
            named = hasattr(module, "default_out")
            p.add_argument("--out", type=Path, required=not named,
                           help="output directory (must not exist yet)"
                                + ("; default: the step names it in the working directory" if named else ""))
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        module.add_arguments(p)
    return parser


def _run(args: argparse.Namespace) -> int | None:
    """The step into an atomic `--out`, with its progress bars closed however it ends, so an error is not
    printed onto a bar."""
    module = args.module
    try:
        if "device" in args:
            select_device(args.device)
        if not getattr(module, "OUT", True) or (getattr(module, "RANK_ZERO_WRITES", False)
                                                and int(os.environ.get("RANK", "0")) != 0):
            return module.run(args, None)
        if args.out is None:
            args.out = module.default_out(args)
        with atomic_directory(args.out) as tmp:
            return module.run(args, tmp)
    finally:
        close_progress()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.command, args.verbose)
    use_writable_caches()  # before numba, matplotlib or torch is imported
    prog = f"dnalm {args.command}"
    try:
        status = _run(args)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return status or 0
