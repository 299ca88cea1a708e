"""Thematic saturation per group, after Guest, Namey & Chen (2020, PLoS ONE 15:e0232076).

Units (sessions, or participants) are taken in the order they were held. With base
size *b*, run length *r* and new-information threshold *t*:

* the **base** is the set of codes found in units 1..b;
* a **run** starting at unit s (s = b+1, b+2, …) is units s..s+r−1; its *new
  information* is the number of codes found in the run that were not found in any
  unit before s, divided by the number of codes in the base;
* saturation is **reached** at the first run whose new information is ≤ t; the
  saturation point reported (``at``) is the last unit of that run (the units needed
  to show it), and ``run_start`` its first unit. No such run (too few units, or new
  codes keep appearing) = not reached.

Which unit: a group with at least b + r sessions is assessed over its sessions (in
``order`` from the sessions sheet); otherwise over its participants, sessions in order
and, within a session, participants in the order they first speak. A code is "found" in
a unit when at least one of the unit's participant segments carries it in the chosen
coding.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from concord.tsvio import InputError

CURVE_COLUMNS = ["group", "unit_type", "position", "unit", "session_id", "order", "codes",
                 "new_codes", "new_code_ids", "cumulative_codes", "cumulative_share"]
SUMMARY_COLUMNS = ["group", "unit_type", "units", "base", "run", "threshold", "base_codes",
                   "reached", "run_start", "at", "new_in_run", "new_information"]


def assess(unit_codes: list[set], base: int, run: int, threshold: float) -> dict:
    """Guest et al.'s procedure on an ordered list of per-unit code sets."""
    if base < 1 or run < 1:
        raise InputError(f"saturation: base ({base}) and run ({run}) must be ≥ 1")
    if not 0 <= threshold <= 1:
        raise InputError(f"saturation: threshold must be between 0 and 1, got {threshold}")
    out = {"units": len(unit_codes), "base_codes": math.nan, "reached": False,
           "run_start": math.nan, "at": math.nan, "new_in_run": math.nan,
           "new_information": math.nan}
    if len(unit_codes) < base:
        return out
    base_set = set().union(*unit_codes[:base])
    out["base_codes"] = len(base_set)
    last = None
    for s in range(base, len(unit_codes) - run + 1):          # 0-based run start
        seen = set().union(*unit_codes[:s])
        new = set().union(*unit_codes[s:s + run]) - seen
        ratio = len(new) / len(base_set) if base_set else (0.0 if not new else math.inf)
        last = (s, len(new), ratio)
        if ratio <= threshold:
            out.update(reached=True, run_start=s + 1, at=s + run, new_in_run=len(new),
                       new_information=ratio)
            return out
    if last is not None:                                        # the last run examined
        out.update(run_start=last[0] + 1, new_in_run=last[1], new_information=last[2])
    return out


def units(segments: pd.DataFrame, codings: pd.DataFrame, sessions: pd.DataFrame,
          participants: pd.DataFrame, group: str, use_sessions: bool) -> list[dict]:
    """The group's units in order: ``{"unit", "session_id", "order", "codes"}``.

    ``segments``: participant segments (segment_id, session_id, turn, participant_id,
    group); ``codings``: (segment_id, code); ``sessions``: session_id, group, order.
    """
    ses = sessions[sessions["group"] == group].copy()
    try:
        ses["order_n"] = ses["order"].astype(int)
    except ValueError:
        raise InputError("sessions sheet: column 'order' must be whole numbers") from None
    ses = ses.sort_values(["order_n", "session_id"])
    order = dict(zip(ses["session_id"], ses["order_n"]))
    seg = segments[segments["group"] == group]
    # each unit's codes in one pass over (segment, code) pairs: a filter per session or
    # participant would cost sessions x segments at 2,000 sessions
    coded = seg[["segment_id", "session_id", "participant_id"]].merge(
        codings[["segment_id", "code"]], on="segment_id")
    if use_sessions:
        sets = _code_sets(coded["session_id"], coded["code"])
        return [{"unit": sid, "session_id": sid, "order": order[sid], "codes": sets.get(sid, set())}
                for sid in ses["session_id"]]
    sets = _code_sets(zip(coded["session_id"], coded["participant_id"]), coded["code"])
    first = seg.assign(turn_n=seg["turn"].astype(int)).groupby(
        ["session_id", "participant_id"])["turn_n"].min()
    speakers: dict[str, list] = {}
    for (sid, pid), turn in first.items():
        speakers.setdefault(sid, []).append((turn, pid))
    enrolled = participants[participants["group"] == group]
    enrolled_in: dict[str, set] = {}
    for sid, pid in zip(enrolled["session_id"], enrolled["participant_id"]):
        enrolled_in.setdefault(sid, set()).add(pid)
    out = []
    for sid in ses["session_id"]:
        spoke = [pid for _, pid in sorted(speakers.get(sid, []))]
        silent = sorted(enrolled_in.get(sid, set()) - set(spoke))
        for pid in spoke + silent:
            out.append({"unit": pid, "session_id": sid, "order": order[sid],
                        "codes": sets.get((sid, pid), set())})
    return out


def _code_sets(keys, codes) -> dict:
    sets: dict = {}
    for k, c in zip(keys, codes):
        sets.setdefault(k, set()).add(c)
    return sets


def saturation(segments: pd.DataFrame, codings: pd.DataFrame, sessions: pd.DataFrame,
               participants: pd.DataFrame, groups: list[dict], base: int, run: int,
               threshold: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Discovery curves and the saturation summary for every group (display order)."""
    curve, summary = [], []
    for g in groups:
        gid = g["id"]
        n_sessions = int((sessions["group"] == gid).sum())
        use_sessions = n_sessions >= base + run
        us = units(segments, codings, sessions, participants, gid, use_sessions)
        unit_type = "session" if use_sessions else "participant"
        total = set().union(*[u["codes"] for u in us]) if us else set()
        seen: set = set()
        for i, u in enumerate(us, start=1):
            new = sorted(u["codes"] - seen)
            seen |= u["codes"]
            curve.append({"group": gid, "unit_type": unit_type, "position": i,
                          "unit": u["unit"], "session_id": u["session_id"], "order": u["order"],
                          "codes": len(u["codes"]), "new_codes": len(new),
                          "new_code_ids": ";".join(new), "cumulative_codes": len(seen),
                          "cumulative_share": len(seen) / len(total) if total else math.nan})
        res = assess([u["codes"] for u in us], base, run, threshold)
        summary.append({"group": gid, "unit_type": unit_type, "base": base, "run": run,
                        "threshold": threshold, **res})
    return (pd.DataFrame(curve, columns=CURVE_COLUMNS),
            pd.DataFrame(summary, columns=SUMMARY_COLUMNS))


def figure(curve: pd.DataFrame, summary: pd.DataFrame, groups: list[dict], path) -> None:
    """Cumulative codes found against units, one line per group; the saturation point
    is marked. Groups whose curves coincide stay distinguishable: each has its own
    marker and line style and a small horizontal offset; the y axis counts whole codes
    from zero; the legend (labels wrapped) sits below the axes. Deterministic PNG bytes."""
    import textwrap

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    present = [g for g in groups if (curve["group"] == g["id"]).any()]
    n = max(len(present), 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=150)
    colours = plt.get_cmap("tab10")
    markers = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
    styles = ["-", "--", ":", "-."]
    spread = 0.18 if n > 1 else 0.0                    # offsets within ±0.09 of a unit
    top = 1
    for i, g in enumerate(present):
        sub = curve[curve["group"] == g["id"]]
        unit = sub["unit_type"].iloc[0]
        dx = (i - (n - 1) / 2) * spread / max(n - 1, 1)
        x = sub["position"].to_numpy(dtype=float) + dx
        y = sub["cumulative_codes"].to_numpy(dtype=float)
        top = max(top, int(np.nanmax(y)) if len(y) else 1)
        label = "\n".join(textwrap.wrap(f"{g.get('label', g['id'])} ({unit}s)", 45))
        ax.plot(x, y, marker=markers[i % len(markers)], ms=4, linewidth=1.2,
                linestyle=styles[(i // len(markers)) % len(styles)] if n <= 10
                else styles[i % len(styles)],
                color=colours(i % 10), label=label, alpha=0.9)
        s = summary[summary["group"] == g["id"]].iloc[0]
        if bool(s["reached"]):
            at = int(s["at"])
            ya = sub.loc[sub["position"] == at, "cumulative_codes"].iloc[0]
            ax.plot([at + dx], [ya], marker="*", ms=12, color=colours(i % 10),
                    markeredgecolor="black", markeredgewidth=0.5, linestyle="none")
    ax.set_xlabel("units in the order held (sessions or participants)", fontsize=8)
    ax.set_ylabel("distinct codes found", fontsize=8)
    ax.set_ylim(0, top + max(1, round(0.08 * top)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=8)
    from matplotlib.transforms import offset_copy
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=1 if n <= 4 else 2,
              bbox_transform=offset_copy(ax.transAxes, fig, y=-30, units="points"))
    from concord.atomic import replacing  # temporary file + rename
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png", metadata={"Software": None},
                    bbox_inches="tight", pad_inches=0.08)
    plt.close(fig)


def fragment(curve: pd.DataFrame, summary: pd.DataFrame, groups: list[dict],
             curve_path: str, summary_path: str):
    """Registry entries: the parameters, and per group whether/where saturation was
    reached; a table for the manuscript (COREQ item 22)."""
    from concord.numbers import Fragment

    frag = Fragment("saturation")
    label = {g["id"]: g.get("label", g["id"]) for g in groups}
    s0 = summary.iloc[0]
    frag.add("saturation.base", int(s0.base), "base size (units)", summary_path)
    frag.add("saturation.run", int(s0.run), "run length (units)", summary_path)
    frag.add("saturation.threshold", float(s0.threshold),
             "new-information threshold (share of the base's codes)", summary_path,
             percent=True, digits=2)
    sline = {r.group: i + 2 for i, r in enumerate(summary.itertuples())}
    for r in summary.itertuples():
        ln = [sline[r.group]]
        frag.add(f"saturation.unit.{r.group}", r.unit_type,
                 f"unit of the saturation assessment for {label[r.group]}", summary_path, ln,
                 shown=f"{r.unit_type}s")
        frag.add(f"saturation.units.{r.group}", int(r.units),
                 f"{r.unit_type}s assessed in {label[r.group]}", summary_path, ln)
        frag.add(f"saturation.reached.{r.group}", bool(r.reached),
                 f"saturation reached in {label[r.group]}", summary_path, ln)
        at = r.at if r.reached else None
        frag.add(f"saturation.at.{r.group}", None if at is None else int(at),
                 f"{r.unit_type}s needed to reach saturation in {label[r.group]} (last unit "
                 f"of the first run with new information ≤ threshold)", summary_path, ln,
                 shown="not reached" if at is None else f"{int(at)}")
        frag.add(f"saturation.base_codes.{r.group}", r.base_codes,
                 f"codes found in the base of {label[r.group]}", summary_path, ln,
                 shown="NA" if pd.isna(r.base_codes) else f"{int(r.base_codes)}",
                 undefined=(f"{label[r.group]} has {int(r.units)} {r.unit_type}(s), fewer "
                            f"than the base size {int(r.base)}") if pd.isna(r.base_codes)
                 else None)
    reached = summary[summary["reached"]]
    frag.add("saturation.groups_reached", len(reached),
             "groups in which saturation was reached"
             + (f": {', '.join(label[g] for g in reached['group'])}" if len(reached) else ""),
             summary_path, [sline[g] for g in reached["group"]])
    frag.table("saturation",
               "Thematic saturation per group (Guest, Namey & Chen 2020): units assessed in "
               "the order held, and the units needed to reach saturation.",
               ["Group", "Unit", "Units", "Codes in base", "Saturation at"],
               [[label[g["id"]], {"num": f"saturation.unit.{g['id']}"},
                 {"num": f"saturation.units.{g['id']}"},
                 {"num": f"saturation.base_codes.{g['id']}"},
                 {"num": f"saturation.at.{g['id']}"}] for g in groups])
    return frag
