"""Benchmark of the learned coder (issue #15): per-code agreement with the human coders,
side by side with the humans' agreement among themselves and the keyword coder's.

    python benchmarks/learned_bench.py --study DIR            # a run study folder (demo)
    python benchmarks/learned_bench.py --annomi AnnoMI-full.csv
    python benchmarks/learned_bench.py ... --models tfidf minilm --bootstrap 200
    python benchmarks/learned_bench.py --study /tmp/big --timing   # training/coding time

``--study``: a study folder after ``snakemake`` (reads results/coding/codings.tsv,
coverage.tsv, results/segments/*.tsv and config/ for the codebook and moderator).

``--annomi``: AnnoMI (Wu et al. 2022, 2023; github.com/uccollab/AnnoMI, 133 real
motivational-interviewing transcripts coded by experts; the file is read where you
put it, never copied into this repository). Units: the therapist's utterances;
sessions: transcripts; coders: the annotators (``annotator_id``); codes: question,
reflection and therapist input (``*_exists``) and their subtypes (open/closed question,
simple/complex reflection, information/advice/negotiation/options input). No keyword
patterns are written for this codebook (that is the point of a learned coder), so the
keyword coder is not measured there.

Prints one line per code: positive units of the reference, humans' alpha (and AC1),
each model's out-of-fold alpha, kappa and AC1 against the consensus, the keyword
coder's, and at the end the mean over codes with >= 50 positive units.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from concord import code, roles  # noqa: E402
from concord.learned import model as lm  # noqa: E402
from concord.learned import stage  # noqa: E402
from concord.tsvio import read_tsv  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULTS = {k: v.get("default") for k, v in __import__("yaml").safe_load(
    (REPO / "workflow/schemas/config.schema.yaml").read_text())["properties"]["learn"][
    "properties"].items()}

ANNOMI_CODES = {
    "QUESTION": ("question_exists", None), "QUESTION_OPEN": ("question_subtype", "open"),
    "QUESTION_CLOSED": ("question_subtype", "closed"),
    "REFLECTION": ("reflection_exists", None),
    "REFLECTION_SIMPLE": ("reflection_subtype", "simple"),
    "REFLECTION_COMPLEX": ("reflection_subtype", "complex"),
    "INPUT": ("therapist_input_exists", None),
    "INPUT_INFORMATION": ("therapist_input_subtype", "information"),
    "INPUT_ADVICE": ("therapist_input_subtype", "advice"),
    "INPUT_NEGOTIATION": ("therapist_input_subtype", "negotiation"),
    "INPUT_OPTIONS": ("therapist_input_subtype", "options"),
}


def load_study(folder: Path):
    import yaml
    cfg = yaml.safe_load((folder / "config" / "config.yaml").read_text()) \
        if (folder / "config" / "config.yaml").is_file() else \
        yaml.safe_load((folder / "config.yaml").read_text())
    book_path = folder / cfg["codebook"]
    book = code.read_codebook(book_path if book_path.is_file() else REPO / cfg["codebook"])
    codings = read_tsv(folder / "results/coding/codings.tsv")
    coverage = read_tsv(folder / "results/coding/coverage.tsv")
    segs = pd.concat([roles.read_segment_columns(p, ["segment_id", "session_id", "turn",
                                                     "speaker_id", "participant_id", "text"])
                      for p in sorted((folder / "results/segments").glob("*.tsv"))
                      if p.open(encoding="utf-8").readline().startswith("segment_id\t")],
                     ignore_index=True)
    units = stage.coding_units(segs, tuple((cfg.get("code") or {}).get("roles", ["participant"])))
    return units, codings, coverage, book, stage.unit_texts(segs, units), \
        {c: tuple(r) for c, r in roles.code_roles(book).items() if r}


def majority(human: pd.DataFrame, coverage: pd.DataFrame) -> pd.DataFrame:
    """Consensus like concord.code.adjudicate(majority): more than half of the session's
    coders applied the code."""
    n = coverage.groupby("session_id")["coder"].nunique()
    h = human.assign(session_id=human["segment_id"].str.rsplit("-", n=1).str[0])
    cnt = h.groupby(["segment_id", "session_id", "code"])["coder"].nunique().reset_index()
    keep = cnt[cnt["coder"] > cnt["session_id"].map(n) / 2]
    return keep[["segment_id", "code"]].assign(coder="consensus")


def load_annomi(path: Path):
    """AnnoMI as a study: units = therapist utterances, their context = the client's
    utterance before (all utterances are segments; one utterance = one turn)."""
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    d = d.assign(session_id="T" + d["transcript_id"].str.zfill(3),
                 coder="A" + d["annotator_id"])
    d = d.assign(segment_id=d["session_id"] + "-" + d["utterance_id"].str.zfill(4))
    segs = d.drop_duplicates("segment_id")[["segment_id", "session_id", "utterance_id",
                                            "interlocutor", "utterance_text"]]
    segs = segs.rename(columns={"utterance_text": "text", "utterance_id": "turn",
                                "interlocutor": "speaker_id"}).assign(
        role=lambda x: x["speaker_id"]).sort_values("segment_id").reset_index(drop=True)
    d = d[d["interlocutor"] == "therapist"]
    units = stage.coding_units(segs, ("therapist",))
    rows = []
    for cid, (col, val) in ANNOMI_CODES.items():
        hit = d[col] == ("True" if val is None else val)
        rows.append(d.loc[hit, ["segment_id", "coder"]].assign(code=cid))
    human = pd.concat(rows, ignore_index=True).drop_duplicates()
    coverage = d[["coder", "session_id"]].drop_duplicates()
    cons = majority(human, coverage)
    coverage = pd.concat([coverage, pd.DataFrame({"coder": "consensus",
                                                  "session_id": sorted(set(d["session_id"]))})])
    codings = pd.concat([human, cons], ignore_index=True)
    book = {"codes": [{"id": c, "name": c} for c in ANNOMI_CODES]}
    return units, codings, coverage.reset_index(drop=True), book, \
        stage.unit_texts(segs, units), {}


def restrict(res, sessions):
    """The result limited to the training units of ``sessions`` (for a half's table)."""
    keep = res.units.loc[res.train, "session_id"].isin(sessions).to_numpy()
    train = res.train.copy()
    train[np.flatnonzero(res.train)[~keep]] = False
    return dataclasses.replace(res, train=train, labels=res.labels[keep], fold=res.fold[keep],
                               oof=res.oof[keep], oof_pred=res.oof_pred[keep])


def fmt(x, d=2):
    return "  n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:5.{d}f}"


SETTINGS = {
    # the coder of session 19 (issue #15's first measurement): own text, C = 1
    "previous": dict(context_weight=0.0, c=1.0, solver="liblinear"),
    # the defaults (config/config.yaml learn:)
    "default": dict(context_weight=DEFAULTS["context_weight"], c=tuple(DEFAULTS["C"]),
                    max_rows=DEFAULTS["max_rows"], solver=DEFAULTS["solver"]),
}


def halves(sessions) -> tuple[set, set]:
    """Development half (even session number) and held-out half (odd), by the digits
    of the session ID."""
    num = {s: int("".join(ch for ch in s if ch.isdigit()) or 0) for s in sessions}
    return {s for s, n in num.items() if n % 2 == 0}, {s for s, n in num.items() if n % 2}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--study", type=Path)
    src.add_argument("--annomi", type=Path)
    ap.add_argument("--models", nargs="+", default=["tfidf"], choices=lm.KINDS)
    ap.add_argument("--settings", nargs="+", default=["previous", "default"],
                    help=f"named settings: {', '.join(SETTINGS)}, or custom "
                         "'name:context_weight=0.5,c=0.25/1/4,max_rows=20000'")
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--min-positive", type=int, default=10)
    ap.add_argument("--no-codebook", action="store_true")
    ap.add_argument("--timing", action="store_true", help="only time training and coding")
    a = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)   # as the rule: one thread (idle BLAS threads spin on a loaded machine)
    t0 = time.perf_counter()
    units, codings, coverage, book, texts, code_roles = \
        load_study(a.study) if a.study else load_annomi(a.annomi)
    print(f"loaded {len(units):,} units, {units['session_id'].nunique():,} sessions, "
          f"{len(book['codes'])} codes in {time.perf_counter() - t0:.1f} s", flush=True)
    runs = []
    for kind in a.models:
        for name in a.settings:
            if ":" in name:
                name, spec = name.split(":", 1)
                kw = {}
                for item in spec.split(","):
                    k, v = item.split("=")
                    kw[k] = tuple(float(x) for x in v.split("/")) if k == "c" else \
                        (int(v) if k == "max_rows" else v if k == "solver" else float(v))
            else:
                kw = dict(SETTINGS[name])
            runs.append((f"{kind}/{name}", kind, kw))
    results, tables = {}, {}
    for label, kind, kw in runs:
        c0, w0 = time.process_time(), time.perf_counter()
        res = stage.learn(units, codings, coverage, book, kind=kind, folds=a.folds,
                          min_positive=a.min_positive, use_codebook=not a.no_codebook,
                          texts=texts, code_roles=code_roles, seed=DEFAULTS["seed"], **kw)
        c1, w1 = time.process_time(), time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{label} {kw}: features + cross-validation + final fit + coding "
              f"{c1 - c0:.1f} s CPU ({w1 - w0:.1f} s wall), {int(res.train.sum()):,} training "
              f"units, {len(units):,} units coded, peak RSS {rss:.0f} MB", flush=True)
        results[label] = res
        if a.timing:
            continue
        t = time.process_time()
        tables[label] = stage.agreement_table(res, codings, coverage, 20261123, a.bootstrap,
                                              0.95, 0.8, 0.667)
        print(f"  agreement table {time.process_time() - t:.1f} s CPU; C per code: "
              + ", ".join(f"{k}={v:g}" for k, v in res.C.items()), flush=True)
    if a.timing:
        return
    labels = [r[0] for r in runs]
    first, res0 = tables[labels[0]], results[labels[0]]
    dev, held = halves(units["session_id"].unique())
    part = {}
    for label in labels:
        r = results[label]
        part[label] = {h: stage.agreement_table(restrict(r, ss), codings, coverage, 20261123,
                                                0, 0.95, 0.8, 0.667)
                       for h, ss in (("dev", dev), ("held", held))}

    def get(t, rater, ref, c, col="krippendorff_alpha"):
        s = t[(t["rater"] == rater) & (t["reference"] == ref) & (t["code"] == c)]
        return float(s[col].iloc[0]) if len(s) else float("nan")

    head = f"{'code':22s} {'pos':>6s} {'hum a':>6s} {'AC1':>5s}"
    for k in labels:
        head += f" | {k[-14:]:>14s} a [ci] kappa AC1 F1 | dev held"
    head += " | keyword a kappa AC1"
    print(head)
    cols = ["human", "machine"] + [f"{k} {h}" for k in labels for h in ("all", "dev", "held")]
    summary = {k: [] for k in cols}
    for c in res0.codes:
        pos = res0.positives[c]
        line = f"{c:22s} {pos:6d} {fmt(get(first, 'human', 'human', c))} " \
               f"{fmt(get(first, 'human', 'human', c, 'gwet_ac1'))}"
        big = pos >= 50 and res0.status[c] == "coded"
        if big:
            summary["human"].append(get(first, "human", "human", c))
            summary["machine"].append(get(first, "machine", "consensus", c))
        for k in labels:
            t, r = tables[k], results[k]
            j = r.codes.index(c)
            y = r.labels[:, j] == 1
            p = r.oof_pred[:, j]
            f1 = 2 * (p & y).sum() / max(p.sum() + y.sum(), 1) if r.status[c] == "coded" \
                else float("nan")
            al = get(t, stage.LEARNED, "consensus", c)
            line += f" | {fmt(al)} [{fmt(get(t, stage.LEARNED, 'consensus', c, 'ci_low'))}," \
                    f"{fmt(get(t, stage.LEARNED, 'consensus', c, 'ci_high'))}] " \
                    f"{fmt(get(t, stage.LEARNED, 'consensus', c, 'cohen_kappa'))} " \
                    f"{fmt(get(t, stage.LEARNED, 'consensus', c, 'gwet_ac1'))} {fmt(f1)}"
            d_ = get(part[k]["dev"], stage.LEARNED, "consensus", c)
            h_ = get(part[k]["held"], stage.LEARNED, "consensus", c)
            line += f" | {fmt(d_)} {fmt(h_)}"
            if big:
                summary[f"{k} all"].append(al)
                summary[f"{k} dev"].append(d_)
                summary[f"{k} held"].append(h_)
        line += f" | {fmt(get(first, 'machine', 'consensus', c))} " \
                f"{fmt(get(first, 'machine', 'consensus', c, 'cohen_kappa'))} " \
                f"{fmt(get(first, 'machine', 'consensus', c, 'gwet_ac1'))}"
        print(line)
    n_big = len(summary["human"])
    print(f"\nmean alpha over the {n_big} codes with >= 50 positive units "
          f"(dev = even session numbers, {len(dev)} sessions; held = odd, {len(held)}):")
    for k, v in summary.items():
        v = np.asarray(v, dtype=float)
        m = float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan")
        print(f"  {k:32s} {fmt(m, 3)}")


if __name__ == "__main__":
    main()
