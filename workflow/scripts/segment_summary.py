"""Snakemake script for rule segment_summary: corpus size per session and group,
and the numbers-registry fragment (study and corpus sizes)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import segment as seg  # noqa: E402
from concord.numbers import Fragment  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
segments = pd.concat([seg.read_segments(p) for p in sm.input.segments], ignore_index=True)
sessions = read_tsv(sm.input.sessions, required=["session_id", "group"])
participants = read_tsv(sm.input.participants, required=["participant_id", "session_id"])
summary, by_group = seg.summarise(segments, sessions, participants, list(sm.params.groups),
                                  units=tuple(sm.params.unit_roles))
write_tsv(summary, sm.output.summary)
write_tsv(by_group, sm.output.participants)

S, G = sm.output.summary, sm.output.participants
unit = sm.params.unit
frag = Fragment("segment_summary")
total = len(by_group) + 1  # line of the "all" row
frag.add("study.sessions", len(summary), "focus-group sessions", G, [total])
frag.add("study.participants", int(by_group["participants"].iloc[-1]),
         "participants enrolled (distinct people of the coding-unit roles)", G, [total])
rows = []
for i, g in enumerate(by_group.itertuples(index=False), start=2):
    if g.group == "all":
        continue
    frag.add(f"study.sessions.{g.group}", g.sessions, f"sessions of group {g.label}", G, [i])
    frag.add(f"study.participants.{g.group}", g.participants,
             f"participants enrolled in group {g.label}", G, [i])
    frag.add(f"corpus.words.{g.group}", g.words, f"words in the sessions of group {g.label}",
             G, [i])
    rows.append([g.label, {"num": f"study.sessions.{g.group}"},
                 {"num": f"study.participants.{g.group}"}, {"num": f"corpus.words.{g.group}"}])
all_lines = list(range(2, len(summary) + 2))
words = summary["words"]
frag.add("corpus.words.total", int(words.sum()), "words in all transcripts (participants and "
         "moderator)", S, all_lines)
frag.add("corpus.words.mean_per_session", float(words.mean()) if len(words) else float("nan"),
         "mean words per session", S, all_lines,
         shown=f"{round(float(words.mean())):,}" if len(words) else "NA")
frag.add("corpus.words.min_per_session", int(words.min()), "fewest words in a session", S,
         [i + 2 for i in summary.index[words == words.min()]])
frag.add("corpus.words.max_per_session", int(words.max()), "most words in a session", S,
         [i + 2 for i in summary.index[words == words.max()]])
frag.add("corpus.segments.total", int(summary["participant_segments"].sum()),
         f"coding units (participant {unit} segments)", S, all_lines)
psegs = summary["participant_segments"]
frag.add("corpus.segments.mean_per_session", float(psegs.mean()) if len(psegs) else float("nan"),
         "mean coding units (participant segments) per session", S, all_lines,
         shown=f"{round(float(psegs.mean())):,}" if len(psegs) else "NA")
frag.add("corpus.segments.mean_words",
         float(summary["participant_words"].sum() / psegs.sum()) if psegs.sum() else float("nan"),
         f"mean words per coding unit (participant {unit} segment)", S, all_lines, digits=1)
frag.add("corpus.turns.total", int(summary["turns"].sum()), "speaking turns", S, all_lines)
rows.append(["Total", {"num": "study.sessions"}, {"num": "study.participants"},
             {"num": "corpus.words.total"}])
frag.table("participants", "Sessions, participants and words per group",
           ["Group", "Sessions", "Participants", "Words"], rows)
frag.write(sm.output.numbers)
