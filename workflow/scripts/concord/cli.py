"""The ``concord`` command. One subcommand per module; add new ones in ``COMMANDS``.

    concord simulate --out resources/demo [--study a|b|all] [--seed N]
    concord simulate --sessions N --out DIR [--seed S] [--coded-share F] [--sheet-root PREFIX]
    concord trace KEY | --list        concord verify
    concord init DIR --transcripts FILE...      concord run DIR [snakemake options]
    concord deid review [STUDY_DIR] [--decide ID=redact|keep]   concord deid show-leak N [STUDY_DIR]
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
    p.add_argument("--sessions", type=int, default=None, metavar="N",
                   help="instead of --study: Study B's design scaled to N sessions, written "
                        "to OUT with its sheets and OUT/config.yaml (study_s)")
    p.add_argument("--coded-share", type=float, default=1.0, metavar="F",
                   help="with --sessions: share of sessions double-coded by the simulated "
                        "human coders (sessions 1-5 always; default: %(default)s)")
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
    if args.sessions is not None:
        try:
            st = simulate.write_scaled(args.out, args.sessions, seed=seed,
                                       coded_share=args.coded_share, sheet_root=args.sheet_root)
        except ValueError as exc:
            print(f"concord simulate: {exc}", file=sys.stderr)
            return 2
        print(f"{simulate.SCALED_ID}: {st['sessions']} sessions "
              f"({', '.join(f'{g} {c}' for g, c in st['groups'].items())}), "
              f"{st['participants']} participants, {st['words']} words "
              f"(per session {st['words_min']}-{st['words_max']}, mean {st['words_mean']}), "
              f"{st['units']} participant sentences ({st['coded_units']} coded), "
              f"{st['identifiers']} planted identifiers, {st['human_coded_sessions']} sessions "
              f"double-coded by humans, {st['bytes'] / 1e6:.1f} MB in {args.out}")
        return 0
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


def _add_refiqda(sub) -> None:
    """``concord qdc export|import`` and ``concord qdpx export|import`` (REFI-QDA)."""
    q = sub.add_parser("qdc", help="codebook <-> REFI-QDA QDC").add_subparsers(
        dest="action", required=True)
    e = q.add_parser("export", help="codebook YAML -> QDC")
    e.add_argument("--codebook", default="config/codebook.yaml")
    e.add_argument("--study", required=True, help="study id (GUIDs are uuid5 over it)")
    e.add_argument("--out", required=True)
    e.set_defaults(func=_run_qdc_export)
    i = q.add_parser("import", help="QDC -> codebook YAML (ids, names, definitions, hierarchy)")
    i.add_argument("qdc")
    i.add_argument("--out", required=True)
    i.set_defaults(func=_run_qdc_import)
    x = sub.add_parser("qdpx", help="project <-> REFI-QDA QDPX").add_subparsers(
        dest="action", required=True)
    e = x.add_parser("export", help="de-identified sources + codebook + codings -> QDPX")
    e.add_argument("--study", required=True)
    e.add_argument("--title", default=None)
    e.add_argument("--codebook", default="config/codebook.yaml")
    e.add_argument("--results", default="results", help="results folder (deid, segments, coding)")
    e.add_argument("--config", default="config/config.yaml",
                   help="the study's config: its sessions sheet names the sessions exported "
                        "(default: %(default)s)")
    e.add_argument("--coders", nargs="*", default=None, help="coders to include (default: all)")
    e.add_argument("--out", required=True)
    e.set_defaults(func=_run_qdpx_export)
    i = x.add_parser("import", help="QDPX -> span coder file (session_id, start, end, code)")
    i.add_argument("qdpx")
    i.add_argument("--user", default=None, help="only this user's codings")
    i.add_argument("--out", required=True)
    i.set_defaults(func=_run_qdpx_import)


def _run_qdc_export(args) -> int:
    from concord import code, refiqda
    from concord.atomic import write_bytes
    write_bytes(args.out, refiqda.codebook_to_qdc(code.read_codebook(args.codebook), args.study))
    return 0


def _run_qdc_import(args) -> int:
    from pathlib import Path
    import yaml
    from concord import refiqda, scaffold
    from concord.atomic import write_text
    from concord.studyconfig import PLACEHOLDER
    from concord.tsvio import InputError
    try:
        book = scaffold.study_codebook(
            refiqda.qdc_to_codebook(Path(args.qdc).read_bytes(), args.qdc), args.qdc)
    except (InputError, OSError) as exc:
        print(f"concord qdc import: {exc}", file=sys.stderr)
        return 2
    text = yaml.safe_dump(book, sort_keys=False, allow_unicode=True)
    write_text(args.out, f"# imported by `concord qdc import` from {Path(args.qdc).name}\n{text}")
    todo = sum(1 for line in text.splitlines() if PLACEHOLDER in line)
    print(f"concord qdc import: {args.out}: {len(book['codes'])} code(s) in "
          f"{len(book['categories'])} categor{'y' if len(book['categories']) == 1 else 'ies'}; "
          f"{todo} value(s) read '{PLACEHOLDER}' (the title, missing definitions); no code "
          f"has patterns yet: add terms or phrases for the automatic coder")
    return 0


def _run_qdpx_export(args) -> int:
    from pathlib import Path
    import pandas as pd
    import yaml
    from concord import code, refiqda
    from concord.segment import read_segments
    from concord.tsvio import InputError, read_tsv
    res = Path(args.results)
    try:  # only the study's declared sessions: never a leftover file of another study
        with open(args.config, encoding="utf-8") as fh:
            sheet = (yaml.safe_load(fh) or {}).get("sessions")
        if not sheet:
            raise InputError(f"{args.config}: key 'sessions' is not set")
        sessions = sorted(read_tsv(sheet, required=["session_id"])["session_id"])
        for s in sessions:
            for f in (res / "segments" / f"{s}.tsv", res / "deid" / f"{s}.txt"):
                if not f.is_file():
                    raise InputError(f"{f}: not found; run the workflow first (session {s} "
                                     f"is declared in {sheet})")
    except (InputError, OSError) as exc:
        print(f"concord qdpx export: {exc}", file=sys.stderr)
        return 2
    segs = pd.concat([read_segments(res / "segments" / f"{s}.tsv") for s in sessions],
                     ignore_index=True)
    texts = {s: (res / "deid" / f"{s}.txt").read_bytes().decode("utf-8") for s in sessions}
    codings = read_tsv(res / "coding" / "codings.tsv", required=["segment_id", "coder", "code"])
    from concord.atomic import write_bytes
    write_bytes(args.out, refiqda.project_to_qdpx(
        args.study, args.title or args.study, code.read_codebook(args.codebook), texts, segs,
        codings, args.coders))
    return 0


def _run_qdpx_import(args) -> int:
    import io
    from concord import refiqda
    from concord.tsvio import InputError, write_tsv
    from concord import stages
    try:
        spans = refiqda.read_qdpx_codings(args.qdpx, args.user)
        spans = spans.astype({"start": int, "end": int})
        # the SHA-256 of the text the offsets refer to: checked against the current
        # de-identified text before the spans are used (concord/stages.py)
        _, texts, _ = refiqda.read_qdpx(args.qdpx, log=io.StringIO())  # warned above
        missing = sorted(set(spans["session_id"]) - set(texts))
        if missing:
            raise InputError(f"{args.qdpx}: {len(missing)} coded source(s) have no text in "
                             f"the archive (e.g. {missing[0]!r}), so the codings cannot be "
                             f"bound to the text they were made on; export the project "
                             f"again with its sources")
    except (InputError, OSError) as exc:
        print(f"concord qdpx import: {exc}", file=sys.stderr)
        return 2
    spans[stages.SHA_COLUMN] = [stages.sha256_text(texts[s]) for s in spans["session_id"]]
    write_tsv(spans, args.out, sort_by=["session_id", "start", "end", "code"])
    return 0


def _add_trace(sub) -> None:
    p = sub.add_parser("trace", help="the chain behind one number of the manuscript",
                       description="Print the chain behind one number: registry entry, source "
                                   "file lines, segments (ID, session, speaker pseudonym, "
                                   "de-identified text), de-identified transcript lines and the "
                                   "SHA-256 of the raw transcript. No raw text, no identifier.")
    p.add_argument("key", nargs="?", help="registry key (see --list)")
    p.add_argument("--list", action="store_true", help="list the registry keys")
    p.add_argument("--root", default=".", help="workflow working directory (default: %(default)s)")
    p.add_argument("--max-segments", type=int, default=10,
                   help="segments shown (default: %(default)s)")
    p.set_defaults(func=_run_trace)


def _run_trace(args) -> int:
    from concord import provenance
    from concord.tsvio import InputError
    try:
        if args.list:
            lines = provenance.list_keys(args.root)
        elif args.key:
            lines = provenance.trace(args.key, args.root, max_segments=args.max_segments)
        else:
            print("concord trace: give a KEY or --list", file=sys.stderr)
            return 2
    except InputError as exc:
        print(f"concord trace: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def _add_verify(sub) -> None:
    p = sub.add_parser("verify", help="recompute the manifest's checksums",
                       description="Recompute the SHA-256 of every file in "
                                   "results/provenance/manifest.tsv and of the inputs it "
                                   "names; exit 1 naming every file that drifted.")
    p.add_argument("--root", default=".", help="workflow working directory (default: %(default)s)")
    p.add_argument("--manifest", default="results/provenance/manifest.tsv")
    p.add_argument("--workflow", default=None,
                   help="folder holding the workflow's files named in the manifest "
                        "(workflow/scripts/…; default: this concord's checkout)")
    p.set_defaults(func=_run_verify)


def _run_verify(args) -> int:
    from pathlib import Path
    from concord import provenance
    from concord.tsvio import InputError
    try:
        report = provenance.verify(args.manifest, args.root,
                                   search=None if args.workflow is None else [args.workflow])
    except InputError as exc:
        print(f"concord verify: {exc}", file=sys.stderr)
        return 2
    labels = {"drifted": "DRIFTED (checksum differs)", "missing": "MISSING",
              "unlisted": "NOT IN MANIFEST", "inputs_drifted": "INPUT DRIFTED",
              "inputs_unavailable": "input not available (not checked)"}
    for k, label in labels.items():
        for p in report[k]:
            print(f"{label}: {p}")
    failed = provenance.verify_failed(report)
    leaks = Path(args.root) / "results" / "privacy" / "leaks.tsv"
    if leaks.is_file():   # the leak gate failed and nothing has passed it since
        print(f"LEAK REPORT: {leaks.relative_to(args.root)} (the leak gate found original "
              f"identifiers; see it, fix the source and rerun)")
        failed = True
    print(f"verify: {report['checked']} files checked, "
          + ("FAILED" if failed else "all match"))
    return 1 if failed else 0


def _add_init(sub) -> None:
    p = sub.add_parser("init", help="a new study folder from raw transcripts",
                       description="Write a runnable study folder: config (metadata to fill "
                                   "in), sessions and participants sheets, a restricted roster "
                                   "of the detected speaker labels, a starter codebook, an "
                                   "empty coders sheet, .gitignore and README. Speaker labels "
                                   "are never printed (they may be names): counts are.")
    p.add_argument("dir", help="the new study folder")
    p.add_argument("--transcripts", nargs="+", required=True, metavar="FILE",
                   help="raw transcripts (Name: text, WebVTT, DOCX; format detected)")
    p.add_argument("--id", default=None, help="study id (default: from the folder name)")
    p.set_defaults(func=_run_init)


def _run_init(args) -> int:
    from concord import scaffold
    from concord.tsvio import InputError
    try:
        n = scaffold.init_study(args.dir, args.transcripts, study_id=args.id)
    except InputError as exc:
        print(f"concord init: {exc}", file=sys.stderr)
        return 2
    formats = ", ".join(f"{c} {f}" for f, c in n["formats"].items())
    print(f"concord init: {args.dir}: {n['sessions']} session(s) ({formats}), "
          f"{n['turns']} turns, {n['participants']} participant speaker(s), "
          f"{n['facilitators']} facilitator speaker(s) detected; "
          f"{n['unnamed_labels']} roster row(s) need a name.")
    print(f"Design: {n['design']} ({n['design_reason']}); check study.design in "
          f"{args.dir}/config/config.yaml.")
    if n["labels_in_text"]:
        print(f"Note: {n['labels_in_text']} speaker label(s) also occur as words in the "
              f"transcripts; labels are identifiers (see {args.dir}/README.md, step 1).")
    print(f"Next: fill in {args.dir}/restricted/roster.tsv, the groups and metadata in "
          f"{args.dir}/config/config.yaml (see {args.dir}/README.md), then "
          f"`concord run {args.dir} --cores 4`.")
    return 0


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run the workflow on a study folder",
                       description="snakemake with this repository's Snakefile, --directory "
                                   "DIR and DIR/config/config.yaml alone; results/, logs/ and "
                                   "restricted/ stay inside DIR. Further options go to "
                                   "snakemake (default --cores all).")
    p.add_argument("dir", help="the study folder (from concord init)")
    p.add_argument("snakemake_args", nargs=argparse.REMAINDER,
                   help="options passed to snakemake (--cores 4, --dry-run, ...)")
    p.set_defaults(func=_run_run)


def run_command(study_dir, extra: list[str]) -> list[str]:
    """The snakemake command line of ``concord run``."""
    from pathlib import Path
    repo = Path(__file__).resolve().parents[3]
    study = Path(study_dir).resolve()
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"),
           "--directory", str(study), "--configfile", str(study / "config" / "config.yaml")]
    cores = {"-c", "--cores", "-j", "--jobs", "--profile", "--dry-run", "-n"}
    if not any(a.split("=")[0] in cores or (a.startswith("-c") and a[2:].isdigit())
               for a in extra):
        cmd += ["--cores", "all"]
    return cmd + list(extra)


def _run_run(args) -> int:
    import subprocess
    from pathlib import Path
    config = Path(args.dir) / "config" / "config.yaml"
    if not config.is_file():
        print(f"concord run: {config} not found; is {args.dir} a study folder? "
              f"(`concord init {args.dir} --transcripts ...` writes one)", file=sys.stderr)
        return 2
    extra = [a for a in args.snakemake_args if a != "--"]
    cmd = run_command(args.dir, extra)
    if not {"-n", "--dry-run", "--unlock", "--lint"} & set(extra):
        from concord import recover  # an interrupted run resumes: sweep, stale lock
        recover.prepare(cmd[3:], cmd[:3])
    return subprocess.run(cmd).returncode


def _add_deid(sub) -> None:
    """``concord deid review`` and ``concord deid show-leak`` (read restricted/)."""
    d = sub.add_parser("deid", help="review de-identification candidates; show a leak").add_subparsers(
        dest="action", required=True)
    r = d.add_parser("review", help="decide redact/keep for each uncertain candidate",
                     description="Show each candidate of the review lists (restricted/review/"
                                 "*.tsv) with its context and record 'redact' or 'keep' in "
                                 "restricted/decisions.tsv; the next run applies the decisions "
                                 "and the methods report their counts. Shows original text: "
                                 "for users authorised to read restricted/.")
    r.add_argument("study", nargs="?", default=".", help="study folder (default: .)")
    r.add_argument("--decide", action="append", default=[], metavar="ID=redact|keep",
                   help="record a decision without prompting (repeatable)")
    r.add_argument("--everywhere", action="store_true",
                   help="record decisions for every session ('*'), not only the candidate's")
    r.add_argument("--all", action="store_true", help="also show candidates already decided")
    r.add_argument("--list", action="store_true", help="list the pending candidates and exit")
    r.set_defaults(func=_run_deid_review)
    s = d.add_parser("show-leak", help="show the original context of a leak the gate found",
                     description="Print the original (unmasked) context of leak N of the last "
                                 "failed gate run, from restricted/quarantine/leaks.json.")
    s.add_argument("n", type=int, help="leak number (results/privacy/leaks.tsv, column leak)")
    s.add_argument("study", nargs="?", default=".", help="study folder (default: .)")
    s.set_defaults(func=_run_show_leak)


def _study_paths(study: str) -> dict:
    """The restricted paths of a study folder (config deidentify.*; a key the config
    leaves out has the schema's default, the one source of defaults)."""
    from pathlib import Path
    import yaml
    from concord import studyconfig
    root = Path(study)
    cfg = {}
    for c in (root / "config" / "config.yaml", root / "config.yaml"):
        if c.is_file():
            cfg = (yaml.safe_load(c.read_text(encoding="utf-8")) or {}).get("deidentify", {}) or {}
            break
    d = studyconfig.section_defaults("deidentify") | cfg
    return {"review": root / d["review_dir"], "decisions": root / d["decisions"],
            "quarantine": root / Path(d["keys_dir"]).parent / "quarantine"}


def _run_deid_review(args) -> int:
    from concord import privacy
    from concord.tsvio import InputError
    try:
        paths = _study_paths(args.study)
        cands = privacy.read_review(paths["review"])
        decisions = privacy.read_decisions(paths["decisions"])
        todo = cands if args.all else cands[~privacy.decided(cands, decisions)]
        by_id = {str(r["candidate_id"]): r for r in cands.to_dict("records")}
        new = []
        for spec in args.decide:
            cid, _, choice = spec.partition("=")
            if cid not in by_id:
                raise InputError(f"--decide {cid}: no such candidate_id in {paths['review']}")
            if choice not in ("redact", "keep"):
                raise InputError(f"--decide {cid}: the decision must be redact or keep")
            new.append(_decision(by_id[cid], choice, args.everywhere))
        if not args.decide:
            if args.list:
                for r in todo.to_dict("records"):
                    print(_candidate_text(r))
                print(f"{len(todo)} candidate(s) pending of {len(cands)}")
                return 0
            new = _prompt(todo, args.everywhere)
        if new:
            table = privacy.record_decisions(paths["decisions"], new)
            print(f"recorded {len(new)} decision(s) in {paths['decisions']} "
                  f"({len(table)} in all); rerun the workflow to apply them")
        else:
            print(f"no decision recorded; {len(todo)} candidate(s) pending")
    except InputError as exc:
        print(f"concord deid review: {exc}", file=sys.stderr)
        return 2
    return 0


def _decision(cand: dict, choice: str, everywhere: bool) -> dict:
    return {"session_id": "*" if everywhere else cand["session_id"], "text": cand["text"],
            "type": cand["type"], "decision": choice,
            "note": f"concord deid review: candidate {cand['candidate_id']} ({cand['reason']})"}


def _candidate_text(r: dict) -> str:
    return (f"[{r['candidate_id']}] session {r['session_id']}, line {r['line']}: {r['type']} "
            f"{r['text']!r} ({r['reason']}; suggested: {r['suggestion']})\n    {r['context']}")


def _prompt(todo, everywhere: bool) -> list[dict]:
    """Ask for each candidate: r(edact), k(eep), s(kip), q(uit); Enter = suggestion."""
    new = []
    total = len(todo)
    for k, r in enumerate(todo.to_dict("records"), start=1):
        print(f"({k}/{total}) " + _candidate_text(r))
        while True:
            try:
                answer = input("redact, keep, skip or quit [r/k/s/q, Enter = suggested]? ")
            except EOFError:
                return new
            answer = (answer.strip().lower() or r["suggestion"][:1])[:1]
            if answer in ("r", "k"):
                new.append(_decision(r, "redact" if answer == "r" else "keep", everywhere))
                break
            if answer == "s":
                break
            if answer == "q":
                return new
    return new


def _run_show_leak(args) -> int:
    from concord import privacy
    from concord.tsvio import InputError
    try:
        print(privacy.show_leak(_study_paths(args.study)["quarantine"] / "leaks.json", args.n))
    except (InputError, PermissionError) as exc:
        print(f"concord deid show-leak: {exc}", file=sys.stderr)
        return 2
    return 0


COMMANDS = [_add_simulate, _add_trace, _add_verify, _add_refiqda, _add_init, _add_run, _add_deid]


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
