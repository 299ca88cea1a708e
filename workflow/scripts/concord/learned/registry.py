"""The learned coder's registry entries (numbers for the manuscript) and its figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from concord.learned.stage import LEARNED


def _mean(t: pd.DataFrame, rater: str, reference: str, codes=None) -> float:
    sel = t[(t["rater"] == rater) & (t["reference"] == reference)]
    if codes is not None:
        sel = sel[sel["code"].isin(codes)]
    v = sel["krippendorff_alpha"].to_numpy(dtype=float)
    return float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan")


def _lines(t: pd.DataFrame, rater: str, reference: str, codes=None) -> list[int]:
    sel = (t["rater"] == rater) & (t["reference"] == reference)
    if codes is not None:
        sel &= t["code"].isin(codes)
    return [int(i) + 2 for i in np.flatnonzero(sel.to_numpy())]


def register(frag, per_code: pd.DataFrame, agree: pd.DataFrame, nxt: pd.DataFrame,
             paths: dict, settings: dict, n_units: int, n_abstained: int,
             prevalence_coder: str) -> None:
    """Registry entries ``learned.*`` (always registered; undefined with a reason when a
    value cannot be computed) and the table ``learned_agreement``."""
    ev, ag = paths["evaluation"], paths["agreement"]
    target = settings["target"]
    frag.add("learned.model", settings["model"], "features of the learned coder "
             "(tfidf: TF-IDF word uni- and bigrams; minilm: all-MiniLM-L6-v2 sentence "
             "embeddings), of the unit and of the turn before it by another speaker "
             f"(weight {settings['context_weight']:g}), with one calibrated logistic "
             "regression per code", ev, shown=settings["model"])
    frag.add("learned.target", target, "the coding the learned coder was trained on", ev,
             shown=target)
    frag.add("learned.folds", int(settings["folds"]), "cross-validation folds by session "
             "(at most; fewer when fewer sessions were coded)", ev)
    frag.add("learned.confidence", float(settings["confidence"]), "calibrated confidence "
             "below which the learned coder leaves a unit to a person", ev)
    coded = per_code[per_code["status"] == "coded"]
    frag.add("learned.codes_coded", int(len(coded)), "codes the learned coder codes", ev,
             lines=[int(i) + 2 for i in coded.index])
    few = per_code[per_code["status"] == "too_few"]
    frag.add("learned.codes_too_few", int(len(few)), "codes with too few positive examples "
             f"(< {settings['min_positive']}) to learn: reported, not coded", ev,
             lines=[int(i) + 2 for i in few.index])
    frag.add("learned.units", int(n_units), "coding units the learned coder coded", paths["codings"])
    frag.add("learned.abstained", int(n_abstained), "units on which the learned coder "
             "abstains (calibrated confidence below the threshold for some code)",
             paths["codings"])
    frag.add("learned.next", int(len(nxt)), "units in the ranked 'code these next' list",
             paths["next"])
    frag.add("learned.prevalence_coder", prevalence_coder == LEARNED, "whether the "
             "concordance stage counts prevalence from the learned coder "
             f"(concordance.coder = {prevalence_coder})", ev)
    means = [("learned.mean_alpha", LEARNED, target, "mean alpha (out of fold) of the "
              f"learned coder against the {target} coding over the codes it codes"),
             ("learned.mean_alpha_machine", "machine", target, "mean alpha of the keyword "
              f"coder against the {target} coding, same codes"),
             ("learned.mean_alpha_human", "human", "human", "mean alpha of the human coders "
              "among themselves, same codes")]
    codes = list(coded["code"])
    for key, rater, ref, meaning in means:
        v = _mean(agree, rater, ref, codes) if len(agree) else float("nan")
        why = None
        if np.isnan(v):
            why = ("no code with enough positive examples and cross-validation" if not codes
                   else "no comparison on these units")
        frag.add(key, v, meaning, ag, lines=_lines(agree, rater, ref, codes) if len(agree)
                 else [], undefined=why)
    rows = []
    for i, r in per_code.iterrows():
        code = r["code"]
        f1 = r["f1"]
        frag.add(f"learned.f1.{code}", f1, f"F1 (out of fold) of the learned coder for "
                 f"{code} against the {target} coding", ev, lines=[int(i) + 2],
                 undefined=(r["note"] or "undefined") if pd.isna(f1) else None)
        cell = {}
        for rater, ref in (("human", "human"), (LEARNED, target), ("machine", target)):
            key = f"learned.alpha.{rater}.{code}"
            sel = agree[(agree["rater"] == rater) & (agree["reference"] == ref)
                        & (agree["code"] == code)] if len(agree) else agree
            a = float(sel["krippendorff_alpha"].iloc[0]) if len(sel) else float("nan")
            line = [int(sel.index[0]) + 2] if len(sel) else []
            why = None
            if np.isnan(a):
                why = (sel["note"].iloc[0] if len(sel) and sel["note"].iloc[0]
                       else "not measured")
            frag.add(key, a, f"Krippendorff's alpha, {rater} vs {ref}, for {code}",
                     ag if len(sel) else ev, lines=line, undefined=why)
            cell[rater] = {"num": key}
        rows.append([code, str(int(r["positives"])), cell["human"], cell[LEARNED],
                     cell["machine"]])
    frag.table("learned_agreement", "Krippendorff's alpha per code: the human coders among "
               f"themselves, the learned coder (out of fold) and the keyword coder against "
               f"the {target} coding", ["Code", "Positive units", "Humans", "Learned",
                                        "Keyword"], rows)


def forest_plot(agree: pd.DataFrame, codes: list[str], target: str, path) -> None:
    """Alpha per code with its interval: humans among themselves, learned and keyword
    coder against ``target``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "concord"
    series = [("human", "human", "Human coders", "#333333"),
              (LEARNED, target, f"Learned vs {target}", "#1f77b4"),
              ("machine", target, f"Keyword vs {target}", "#d62728")]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * max(len(codes), 1) + 1.2), dpi=120)
    for j, (rater, ref, label, color) in enumerate(series):
        t = agree[(agree["rater"] == rater) & (agree["reference"] == ref)].set_index("code") \
            if len(agree) else pd.DataFrame()
        ys, xs, lo, hi = [], [], [], []
        for i, c in enumerate(codes):
            if c in t.index and not pd.isna(t.loc[c, "krippendorff_alpha"]):
                ys.append(i + (j - 1) * 0.25)
                xs.append(float(t.loc[c, "krippendorff_alpha"]))
                lo.append(float(t.loc[c, "ci_low"]) if not pd.isna(t.loc[c, "ci_low"]) else xs[-1])
                hi.append(float(t.loc[c, "ci_high"]) if not pd.isna(t.loc[c, "ci_high"]) else xs[-1])
        if xs:
            xs, lo, hi = map(np.asarray, (xs, lo, hi))
            ax.errorbar(xs, ys, xerr=[np.maximum(xs - lo, 0), np.maximum(hi - xs, 0)],
                        fmt="o", color=color, label=label, ms=4, capsize=2)
    ax.set_yticks(range(len(codes)))
    ax.set_yticklabels(codes)
    ax.invert_yaxis()
    ax.axvline(0.8, ls="--", color="grey", lw=0.8)
    ax.axvline(0.667, ls=":", color="grey", lw=0.8)
    ax.set_xlabel("Krippendorff's alpha (nominal), bootstrap interval")
    ax.set_xlim(-0.2, 1.0)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    from concord.atomic import replacing  # temporary file + rename
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png", metadata={"Software": None})
    plt.close(fig)
