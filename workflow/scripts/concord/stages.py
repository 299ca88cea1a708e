"""Coding in stages, and codings bound to the text they were made on.

**Stages.** A study runs before any human has coded: with no human coders (no
``coders`` sheet, or one with only its header) the workflow de-identifies, segments,
applies the automatic coder, exports one REFI-QDA project per planned coder
(``code.coders``) and registers (PLAN contract D) ``coding.human_coders`` = 0 and
``agreement.status`` = ``"pending"``; every agreement and machine-evaluation key the
manuscript may reference is registered as undefined ("human coding is pending"), and
the group comparisons use the automatic coder (``coding.analysis_coder``). Adding the
coders' files later changes only the inputs of ``combine_codings``, so Snakemake reruns
coding and what follows, nothing before.

**Binding.** Character offsets mean something only in the text they were made on. Each
coder file is checked against the SHA-256 of the *current* de-identified text of
every session it codes (:data:`SHA_COLUMN`, UTF-8 bytes of ``results/deid/<s>.txt``):

* a REFI-QDA project (``.qdpx``) holds the text the coder saw (its ``sources/``): its
  SHA-256 is compared (Concord's exports also state it in each source's
  ``Description``, and ``results/coding/export/text_sha256.tsv`` lists them);
* a span TSV (``session_id, start, end, code``) must carry a ``text_sha256`` column
  (``concord qdpx import`` writes it; for a file made another way copy the value from
  ``results/coding/export/text_sha256.tsv`` at the time the coder received the text);
* a segment TSV (``segment_id, code``) may carry it, and is checked when it does.

A mismatch stops ``combine_codings`` -- before agreement, concordance or any figure --
with "the de-identified text of session X changed since coder C's file was made;
re-export ...": never a silent remap to other segments.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from concord.tsvio import InputError

SHA_COLUMN = "text_sha256"
PENDING = "human coding is pending: no human coder's file in the coders sheet yet"
RESERVED = ("machine", "consensus", "learned")


def sha256_text(text: str) -> str:
    """SHA-256 of a text as UTF-8 bytes (what ``results/deid/<s>.txt`` holds)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_hashes(texts: dict) -> dict:
    """session -> SHA-256 of its de-identified text file's bytes."""
    return {s: hashlib.sha256(Path(p).read_bytes()).hexdigest() for s, p in texts.items()}


def human_coders(coverage: pd.DataFrame) -> list[str]:
    """The human coders in a coverage table (``coder``, ``session_id``)."""
    return sorted(set(coverage["coder"]) - set(RESERVED))


def analysis_coder(configured: str, n_human: int) -> str:
    """Whose codings the group comparisons use: the configured coder, or the
    automatic coder while no human coding exists."""
    return configured if n_human else "machine"


def _is_span(df: pd.DataFrame) -> bool:
    return "segment_id" not in df.columns and {"session_id", "start", "end"} <= set(df.columns)


def file_hashes(path, table: pd.DataFrame | None) -> dict | None:
    """session -> SHA-256 the coder file was made on, or None when it states none.

    QDPX: the SHA-256 of each source text in the project. TSV: the ``text_sha256``
    column, one value per session (two values for one session are an error)."""
    if str(path).lower().endswith(".qdpx"):
        from concord import refiqda
        _, texts, _ = refiqda.read_qdpx(path)
        return {s: sha256_text(t) for s, t in texts.items()}
    if table is None or SHA_COLUMN not in table.columns:
        return None
    if "session_id" not in table.columns:
        raise InputError(f"{path}, line 1: a {SHA_COLUMN} column needs a session_id column "
                         f"beside it (the session whose text the row was coded in)")
    out: dict[str, str] = {}
    for i, (s, h) in enumerate(zip(table["session_id"], table[SHA_COLUMN])):
        if out.setdefault(s, h) != h:
            raise InputError(f"{path}, line {i + 2}: session {s} has two different "
                             f"{SHA_COLUMN} values; one file codes one version of a text")
    return out


def check_bound(sheet: pd.DataFrame, tables: dict, current: dict) -> None:
    """Stop when a coder file was made on another version of a session's
    de-identified text than the current one (``current``: session -> SHA-256).

    ``sheet``: the coders sheet (coder, session_id, path); ``tables``: path -> the
    file's rows (a TSV's DataFrame; anything for a QDPX). A span TSV without the
    ``text_sha256`` column is refused (its offsets cannot be checked)."""
    problems, seen = [], {}
    for r in sheet.sort_values(["coder", "session_id"], kind="mergesort").itertuples(index=False):
        path = r.path
        if path not in seen:
            table = tables.get(path)
            if not str(path).lower().endswith(".qdpx") and isinstance(table, pd.DataFrame) \
                    and _is_span(table) and SHA_COLUMN not in table.columns:
                raise InputError(
                    f"{path}, line 1: a span file (session_id, start, end, code) needs a "
                    f"{SHA_COLUMN} column: the SHA-256 of the de-identified text its offsets "
                    f"refer to (results/coding/export/text_sha256.tsv lists the current ones; "
                    f"`concord qdpx import` writes it), so that offsets are never applied to "
                    f"a changed text")
            seen[path] = file_hashes(path, table if isinstance(table, pd.DataFrame) else None)
        hashes = seen[path]
        if hashes is None or r.session_id not in hashes or r.session_id not in current:
            continue
        if hashes[r.session_id] != current[r.session_id]:
            problems.append(
                f"the de-identified text of session {r.session_id} changed since coder "
                f"{r.coder}'s file was made ({path}); re-export the coder's project "
                f"(results/coding/export/{r.coder}.qdpx, or `concord qdpx export`) and have "
                f"the codings redone or carried over, or restore the de-identification "
                f"settings the file was made with")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputError("; ".join(problems[:5]) + more)


# --------------------------------------------------------------- pending stage

AGREEMENT_UNDEFINED = {
    "agreement.units": "units coded by two or more human coders",
    "agreement.alpha.mean": "Krippendorff's alpha, mean over codes",
    "agreement.alpha.pooled": "Krippendorff's alpha, pooled over codes",
    "agreement.alpha.masi": "Krippendorff's alpha with the MASI distance over code sets",
    "agreement.ac1.mean": "Gwet's AC1, mean over codes",
    "agreement.ci.mean": "confidence interval of the mean alpha",
    "agreement.ci.masi": "confidence interval of the MASI alpha",
    "agreement.codes.reliable": "codes with reliable agreement",
    "agreement.codes.tentative": "codes with tentative agreement",
    "agreement.codes.unreliable": "codes with unreliable agreement",
    "agreement.machine.alpha.mean": "alpha of each human coder with the automatic coder, mean",
}
MACHINE_UNDEFINED = {
    "coding.machine.units": "coding units compared with the consensus coding",
    "coding.machine.precision": "automatic coder precision against the consensus",
    "coding.machine.recall": "automatic coder recall against the consensus",
    "coding.machine.f1": "automatic coder F1 against the consensus",
    "coding.machine.precision.macro": "automatic coder precision, mean over codes",
    "coding.machine.recall.macro": "automatic coder recall, mean over codes",
    "coding.machine.f1.macro": "automatic coder F1, mean over codes",
}


def register_status(frag, n_human: int, coder: str, file: str) -> None:
    """``coding.human_coders`` and ``coding.analysis_coder`` (always registered)."""
    frag.add("coding.human_coders", int(n_human), "human coders whose files were imported",
             file)
    why = ("the consensus of the human coders" if coder == "consensus" else
           "the automatic coder: " + PENDING if coder == "machine" and not n_human else
           f"coder {coder}")
    frag.add("coding.analysis_coder", coder,
             f"whose codings the prevalence, concordance, saturation and quotes use: {why}",
             file, shown=coder)


def register_pending_agreement(frag, file: str, thresholds: dict, bootstrap: int,
                               ci: float) -> None:
    """The agreement fragment while no human coding exists."""
    frag.add("agreement.status", "pending", "inter-coder agreement: " + PENDING, file,
             shown="pending")
    frag.add("agreement.coders", 0, "human coders compared", file, undefined=PENDING)
    for key, meaning in AGREEMENT_UNDEFINED.items():
        frag.add(key, None, meaning, file, undefined=PENDING)
    frag.add("agreement.threshold.reliable", float(thresholds["reliable"]),
             "alpha at or above which a code is reliable", file, digits=3)
    frag.add("agreement.threshold.tentative", float(thresholds["tentative"]),
             "alpha at or above which a code is tentatively reliable", file, digits=3)
    frag.add("agreement.bootstrap", int(bootstrap), "bootstrap resamples", file)
    for name, caption in (("agreement", "Inter-coder agreement per code"),
                          ("agreement_group", "Agreement within each group"),
                          ("agreement_machine", "Each human coder against the automatic coder")):
        frag.table(name, f"{caption} (pending: no human coding yet)", ["Status"],
                   [["Human coding is pending"]])


def register_pending_machine(frag, file: str) -> None:
    """The machine-evaluation fragment while no human coding exists."""
    for key, meaning in MACHINE_UNDEFINED.items():
        frag.add(key, None, meaning, file, undefined=PENDING)
    frag.table("machine_evaluation",
               "Automatic coder against the consensus coding (pending: no human coding yet)",
               ["Status"], [["Human coding is pending"]])


def pending_figure(path, text: str = "Human coding pending") -> None:
    """A placeholder figure where a plot needs human codings."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=14)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
