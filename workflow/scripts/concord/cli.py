"""The ``concord`` command. One subcommand per module; add new ones in ``COMMANDS``.

    concord simulate --out resources/demo [--study a|b|all] [--seed N]
"""

from __future__ import annotations

import argparse
import sys


def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", help="generate the SYNTHETIC demo corpus",
                       description="Generate the synthetic demo corpus (transcripts, restricted "
                                   "roster, gold identifiers, true codes, simulated human coders) "
                                   "and the study sheets. Same seed, same bytes.")
    p.add_argument("--out", default="resources/demo", help="corpus directory (default: %(default)s)")
    p.add_argument("--study", choices=["a", "b", "all"], default="all",
                   help="which study to generate (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: 20261123)")
    p.add_argument("--sheets", default="config",
                   help="where to write sessions/participants/coders sheets: study A in DIR/, "
                        "study B in DIR/studies/study_b/ (default: %(default)s)")
    p.add_argument("--no-sheets", action="store_true", help="do not write the sheets")
    p.add_argument("--sheet-root", default=None,
                   help="path prefix for files named in the sheets (default: --out)")
    p.add_argument("--no-readme", action="store_true", help="do not (re)write OUT/README.md")
    p.set_defaults(func=_run_simulate)


def _run_simulate(args) -> int:
    from concord import simulate
    seed = simulate.SEED if args.seed is None else args.seed
    studies = ("a", "b") if args.study == "all" else (args.study,)
    stats = simulate.write_corpus(args.out, studies, seed=seed,
                                  sheets=None if args.no_sheets else args.sheets,
                                  sheet_root=args.sheet_root)
    if not args.no_readme and args.study == "all":
        simulate.write_readme(args.out, stats, seed)
    for study, st in stats.items():
        print(f"{study}: {st['sessions']} sessions, {st['participants']} participants, "
              f"words/session {st['words_min']}-{st['words_max']} (mean {st['words_mean']}), "
              f"{st['units']} participant sentences ({st['coded_units']} coded), "
              f"{st['identifiers']} planted identifiers")
    return 0


COMMANDS = [_add_simulate]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concord", description="Concord: focus-group analysis tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
