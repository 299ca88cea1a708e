"""The manuscript's wording follows the study: its design (focus groups, interviews…),
its coding unit (sentence or turn), what its codebook holds; an undefined statistic's
reason is given once; Table 2 and Table S2 break ties the same way; PDF tables are
set in a readable size. Expected sentences are written by hand."""
import re
import shutil
import subprocess

import pandas as pd
import pytest

from concord import concordance as cc
from concord import manuscript as ms
from concord.tsvio import InputError, write_tsv

from test_manuscript import ROOT, _template_registry

# the keys study_design_entries registers (stand-ins removed so that the real ones count)
OWN = ("design.sessions.noun", "design.method", "design.limitation", "segment.unit",
       "design.facilitators", "design.units", "codebook.")

FULL_BOOK = """codes:
  - id: A
    name: Alpha
    definition: "Talk about alpha."
    include: "Any alpha."
    exclude: "Beta."
    examples: ["alpha it is"]
  - id: B
    name: Beta
    definition: "Talk about beta."
    include: "Any beta."
    exclude: "Alpha."
    examples: ["beta it is"]
"""
# as written by `concord qdc import` from a QDA program: definitions only
IMPORTED_BOOK = """codes:
  - id: A
    name: Alpha
    definition: "Talk about alpha."
  - id: B
    name: Beta
    definition: "Talk about beta."
    include: ""
    examples: []
"""


def _config(tmp_path, design, unit):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"study:\n  id: s\n  title: T\n  synthetic: false\n  design: {design}\n"
                   f"segment:\n  unit: {unit}\n", encoding="utf-8")
    return str(cfg)


def _manuscript(tmp_path, design="focus_group", unit="sentence", book=FULL_BOOK,
                sessions=9, groups=1, roles=("participant",), **values):
    """The resolved main text and supplement (no links, whitespace normalised)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    values = {"agreement.status": "pending", "design.groups": groups,
              "study.synthetic": False, "study.sessions": sessions,
              "study.participants": sessions, "concordance.codes": 2,
              "design.one_session_per_group": True,
              "study.facilitators": "the first author", **values}
    reg, checklist = _template_registry(tmp_path, **values)
    for key in [k for k in reg["numbers"] if k.startswith(OWN)]:
        del reg["numbers"][key]
    (tmp_path / "codebook.yaml").write_text(book, encoding="utf-8")
    reg["numbers"].update(ms.study_design_entries(
        reg["numbers"], design, unit, _config(tmp_path, design, unit),
        str(tmp_path / "codebook.yaml"), roles=roles))
    cfg = {"study": {"id": "s", "title": "T", "synthetic": False}, "groups": []}
    blocks = {"checklist": ms.checklist_markdown(checklist, cfg), "colophon": "",
              **ms.MISSING_SECTION}
    used = []
    text = ms.resolve((ROOT / "workflow/report/manuscript.qmd").read_text(encoding="utf-8"),
                      reg, link=False, blocks=blocks, used=used)
    supp = ms.resolve((ROOT / "workflow/report/supplement.qmd").read_text(encoding="utf-8"),
                      reg, link=False, blocks=blocks, audit_keys=used)
    return " ".join(text.split()), " ".join(supp.split("## Number audit")[0].split())


def test_an_interview_study_is_never_called_focus_groups(tmp_path):
    text, supp = _manuscript(tmp_path, design="interview", sessions=9)
    assert "In all, 9 participants took part in 9 interviews (" in text
    assert "Participants took part in 9 interviews." in text
    assert "The corpus holds 9 interviews with 9 participants (interviewers are not " \
           "counted)" in text
    assert "(not by interviewers) are the coding units" in text
    assert "- Interviewers: the first author" in text
    assert "The 9 interviews comprised" in text
    assert ("The interviews are few and purposively sampled; prevalence counts who raised "
            "a theme in one interview rather than what participants value, and the "
            "interviewer's questions shape what is raised.") in text
    assert "| 9 participants in 9 interviews |" in supp            # COREQ item 12
    # one group: nothing is counted "of 1 groups"
    assert "### What the participants talked about" in text
    assert "Saturation was reached; " in text and "of 1 groups" not in text
    for word in ("focus group", "focus-group", "group discussion", "group dynamics"):
        assert word not in (text + supp).lower(), word


def test_a_focus_group_study_says_focus_groups(tmp_path):
    text, supp = _manuscript(tmp_path, design="focus_group", sessions=4, groups=4,
                             **{"saturation.groups_reached": 2, "concordance.groups": 4})
    assert "In all, 4 participants from 4 groups took part in 4 focus-group sessions (" in text
    assert "Focus groups were held with participants from each of 4 groups, one session " \
           "per group." in text
    assert "The corpus holds 4 focus-group sessions with 4 participants (facilitators " \
           "are not counted)" in text
    assert "Focus groups are small and purposively sampled; prevalence counts who raised a " \
           "theme in one discussion rather than what participants value, and group " \
           "dynamics shape who speaks." in text
    assert "| 4 participants in 4 focus-group sessions of 4 groups |" in supp
    assert "### What each group talked about" in text
    assert "- Facilitators: the first author" in text
    assert "Saturation was reached in 2 of 4 groups; " in text


def test_coding_units_sentence_names_the_coded_roles(tmp_path):
    """A counselling study codes both sides (config code.roles [therapist, client]): the
    methods must not say the units are participants' talk, not the facilitators'."""
    text, _ = _manuscript(tmp_path / "dyad", design="dyad", sessions=6,
                          roles=("therapist", "client"))
    assert "Segments spoken in the speaker roles therapist and client are the coding " \
           "units; each keeps a stable identifier" in text
    assert "(not by facilitators)" not in text
    text, _ = _manuscript(tmp_path / "three", design="focus_group", sessions=3,
                          roles=("patient", "family_caregiver", "nurse"))
    assert "Segments spoken in the speaker roles patient, family caregiver and nurse are " \
           "the coding units" in text
    text, _ = _manuscript(tmp_path / "one", design="interview", sessions=3,
                          roles=("client",))
    assert "Segments spoken in the speaker role client are the coding units" in text


def test_one_interview_is_singular_and_a_mixed_design_names_both(tmp_path):
    text, _ = _manuscript(tmp_path / "one", design="interview", sessions=1)
    assert "Participants took part in 1 interview." in text
    text, _ = _manuscript(tmp_path / "mixed", design="mixed", sessions=5, groups=2,
                          **{"design.one_session_per_group": False})
    assert "Focus groups and interviews were held with participants from each of 2 groups, " \
           "5 sessions (focus groups and interviews) in all." in text


def test_unknown_design_names_the_config(tmp_path):
    (tmp_path / "b.yaml").write_text(FULL_BOOK, encoding="utf-8")
    with pytest.raises(InputError, match=r"config.yaml: study.design is 'survey'"):
        ms.study_design_entries({}, "survey", "sentence", _config(tmp_path, "survey", "turn"),
                                str(tmp_path / "b.yaml"))


def test_design_words_come_from_the_config_line(tmp_path):
    (tmp_path / "b.yaml").write_text(FULL_BOOK, encoding="utf-8")
    cfg = _config(tmp_path, "dyad", "turn")
    got = ms.study_design_entries({"study.sessions": {"value": 3}}, "dyad", "turn", cfg,
                                  str(tmp_path / "b.yaml"))
    assert got["design.sessions.noun"]["display"] == "dyadic sessions"
    assert got["design.sessions.noun"]["source"]["lines"] == [5]       # "  design: dyad"
    assert got["segment.unit"]["source"]["lines"] == [7]               # "  unit: turn"


def test_codebook_sentence_follows_what_the_codebook_holds(tmp_path):
    text, _ = _manuscript(tmp_path / "full", book=FULL_BOOK)
    assert "The codebook defines 2 codes, each with a definition, inclusion and exclusion " \
           "criteria and examples." in text
    text, _ = _manuscript(tmp_path / "imported", book=IMPORTED_BOOK)
    assert "The codebook defines 2 codes; it gives a definition for 2 of them, inclusion " \
           "criteria for 0, exclusion criteria for 0 and examples for 0." in text
    assert "each with a definition, inclusion" not in text


def test_segmentation_sentence_follows_the_unit(tmp_path):
    text, _ = _manuscript(tmp_path / "turn", unit="turn")
    assert "parsed into speaker turns. Each turn was kept whole as one coding unit (the " \
           "study's configuration sets the unit to the speaker turn; turns were not split " \
           "into sentences)." in text
    assert "pySBD" not in text and "sentence segments" not in text
    assert "Transcripts were de-identified, divided into speaker turns and coded" in text
    text, _ = _manuscript(tmp_path / "sentence", unit="sentence")
    assert "Each turn was split into sentences with pySBD, a rule-based segmenter that " \
           "needs no training data" in text
    assert "Transcripts were de-identified, split into sentence segments and coded" in text


def _undefined(why):
    return {"value": None, "display": "undefined", "undefined": why, "meaning": "m",
            "rule": "concordance", "source": {"file": "x", "lines": [], "sha256": "0"},
            "segments": []}


WHY = "every group gave every code the same share"


@pytest.mark.parametrize("groups", [2, 4])
def test_undefined_rho_gives_its_reason_once(tmp_path, groups):
    reg_keys = ("pairwise.spearman.max", "pairwise.spearman.min", "pairwise.spearman.median",
                "pairwise.spearman.max.pair", "pairwise.spearman.min.pair")
    values = {k: None for k in reg_keys}
    reg, _ = _template_registry(tmp_path, **values)
    for k in reg_keys:
        reg["numbers"][k] = _undefined(WHY)
    reg["numbers"]["design.groups"]["value"] = groups
    reg["numbers"]["agreement.status"] = {**reg["numbers"]["agreement.status"],
                                          "value": "pending", "display": "pending"}
    (tmp_path / "codebook.yaml").write_text(FULL_BOOK, encoding="utf-8")
    for key in [k for k in reg["numbers"] if k.startswith(OWN)]:
        del reg["numbers"][key]
    reg["numbers"].update(ms.study_design_entries(
        reg["numbers"], "focus_group", "sentence", _config(tmp_path, "focus_group", "sentence"),
        str(tmp_path / "codebook.yaml")))
    blocks = {"checklist": "", "colophon": "", **ms.MISSING_SECTION}
    out = " ".join(ms.resolve((ROOT / "workflow/report/manuscript.qmd").read_text(
        encoding="utf-8"), reg, link=False, blocks=blocks).split())
    assert out.count(WHY) == 1
    assert "undefined (undefined" not in out and "ρ = undefined" not in out
    if groups == 2:
        assert f"Spearman's ρ between the two groups' code prevalences was undefined " \
               f"({WHY})." in out
    else:
        assert f"Spearman's ρ between the groups' code prevalences was undefined ({WHY})." \
            in out
        assert "most similar" not in out


def test_a_reason_is_given_once_per_paragraph():
    reg = {"numbers": {"a": _undefined("no pairs"), "b": _undefined("no pairs"),
                       "c": _undefined("no coders")}, "tables": {}}
    out = ms.resolve("x {{< num a >}}, y {{< num b >}}, z {{< num c >}}.\n\n"
                     "w {{< num b >}}.\n", reg, link=False)
    assert out == ("x undefined (no pairs), y undefined, z undefined (no coders).\n\n"
                   "w undefined (no pairs).\n")


def test_table_2_and_table_s2_break_ties_the_same_way(tmp_path):
    """Codebook order Z, Y, X (not alphabetical). Group ga: Y and Z tie on participants
    (2 of 3), Z has more of the group's segments: Z first in both tables. Group gb: X and
    Y tie on participants and segments: codebook order puts Y first in both."""
    book = [{"id": "Z", "name": "Zed"}, {"id": "Y", "name": "Why"}, {"id": "X", "name": "Ex"}]
    groups = [{"id": "ga", "label": "Group A"}, {"id": "gb", "label": "Group B"}]
    rows = {"ga": {"Z": (2, 3), "Y": (2, 2), "X": (1, 1)},
            "gb": {"Z": (0, 0), "Y": (1, 1), "X": (1, 1)}}
    prev = pd.DataFrame([{"group": g, "code": c, "participants_with": w, "participants": 3,
                          "share": w / 3, "ci_low": 0.0, "ci_high": 1.0, "segments_with": s,
                          "segments": 6, "segment_share": s / 6}
                         for g, codes in rows.items() for c, (w, s) in codes.items()])
    prev["rank"] = prev.groupby("group")["share"].rank(ascending=False, method="average")
    codes = [c["id"] for c in book]
    pair = cc.pairwise(prev, groups, codes, top=2)
    write_tsv(prev, tmp_path / "prevalence.tsv")
    write_tsv(pair, tmp_path / "pairwise.tsv")
    w = cc.concordance_all(prev, groups, codes)
    tests = cc.code_tests(prev, groups, codes, seed=1, permutations=100)
    shares = pd.DataFrame([{"group": g, "category": "k", "codings": 1, "codings_total": 2,
                            "share": .5, "ci_low": .2, "ci_high": .8} for g in ("ga", "gb")])
    diffs = pd.DataFrame([{"category": "k", "group_a": "ga", "group_b": "gb", "share_a": .5,
                           "share_b": .5, "difference": 0.0, "ci_low": -.1, "ci_high": .1}])
    paths = {k: str(tmp_path / f"{k}.tsv") for k in
             ("pairwise", "kendall_w", "categories", "category_differences", "code_tests")}
    for k, df in (("kendall_w", w), ("categories", shares), ("category_differences", diffs),
                  ("code_tests", tests)):
        write_tsv(df, paths[k])
    seg_ids = {(g, c): [] for g in ("ga", "gb") for c in codes}
    frag = cc.fragment(prev, pair, seg_ids, groups, book, "consensus", 0.95,
                       str(tmp_path / "prevalence.tsv"), paths["pairwise"], bootstrap=50)
    cc.add_results(frag, prev, pair, shares, diffs, w, tests, groups,
                   [dict(c, category="k") for c in book], ["k"], 0.95, 0.05, paths, top=2)
    n = frag.numbers
    assert n["concordance.top.ga"]["display"] == "Zed"
    assert n["concordance.top_codes.ga"]["display"] == "Zed, Why"
    assert n["concordance.top.gb"]["display"] == "Why"
    assert n["concordance.top_codes.gb"]["display"] == "Why, Ex"
    # both captions state the one rule
    rule = "ties broken by the share of the group's segments, then by codebook order"
    assert rule in frag.tables["top"]["caption"] and rule in frag.tables["top_codes"]["caption"]
    # the top-2 overlap uses it too: ga {Z, Y}, gb {Y, X}: one shared of three
    # (code IDs as the last tie-break would give gb {X, Y}: the same set here, so also
    # check the order-aware function directly)
    assert pair.iloc[0]["top_k_jaccard"] == pytest.approx(1 / 3)
    assert cc.top_k(prev, "gb", 1, {c: i for i, c in enumerate(codes)}) == ["Y"]


def test_pdf_tables_are_set_at_nine_and_eight_points():
    """Table text in the PDF: 9 pt (the body is 11 pt), 8 pt for a wide table; never
    the 6.5–7.5 pt that was unreadable on paper."""
    assert "#show table: set text(size: 9pt)" in ms.TYPST_PREAMBLE
    wide = ms.wrap_wide("| a |", 120, 3)
    assert "#show table: set text(size: 8pt)" in wide
    assert wide.rstrip().endswith("#show table: set text(size: 9pt)\n```")
    assert "#show table: set text(size: 8pt)\n#set page(flipped: true)" in \
        ms.wrap_wide("| a |", 150, 3)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler) not installed")
def test_pdf_table_words_are_nine_points_high(tmp_path):
    """Render a table to PDF and measure its words: 9 pt type is about 9 pt from the
    top of the tallest letter to the bottom of the descender box pdftotext reports."""
    reg = {"numbers": {"n": {"value": 1, "display": "1", "meaning": "m", "rule": "r",
                             "source": {"file": "x", "lines": [], "sha256": "0"},
                             "segments": []}},
           "tables": {"t": {"caption": "Cap.", "columns": ["Group", "Sessions"],
                            "rows": [["Tablecellword", {"num": "n"}]]}}}
    text = ms.resolve("Bodyword here.\n\n{{< table t >}}\n", reg, link=False)
    out = ms.render(ms.for_format(text, "pdf", ms.crossref_labels(text)), ["pdf"],
                    tmp_path / "out", ROOT / "workflow/report/references.bib",
                    resource_path=[tmp_path], backend="pandoc")
    bbox = subprocess.run(["pdftotext", "-bbox", str(out["pdf"]), "-"], capture_output=True,
                          text=True, check=True).stdout
    height = {m.group(3): float(m.group(2)) - float(m.group(1)) for m in re.finditer(
        r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">(\w+)<', bbox)}
    assert height["Bodyword"] == pytest.approx(11 * 1.2, rel=0.2)    # sanity: 11 pt body
    assert height["Tablecellword"] == pytest.approx(9 * 1.2, rel=0.12)


def test_a_table_of_long_quotes_may_break_across_pages():
    """14 rows of 150-character quotes wrap to about 60 printed lines: longer than a
    page, so the table may break (it ran into the page number when it could not); 14
    rows of short cells stay together with their caption."""
    def table(cell):
        reg = {"numbers": {}, "tables": {"q": {"caption": "Quotes.", "columns": ["Code", "Quote"],
                                               "rows": [[f"Code {i}", cell] for i in range(14)]}}}
        return ms.resolve("{{< table q >}}", reg, link=False)
    assert "#show figure: set block(breakable: true)" in table("word " * 30)
    assert "#show figure: set block(breakable: false)" in table("short")


def test_the_coreq_table_may_break_across_pages():
    """Its 32 items at 9 pt are taller than a page: it may break (it overprinted its
    last rows when an earlier short table's rule carried over to it)."""
    import yaml
    checklist = yaml.safe_load((ROOT / "workflow/report/coreq.yaml").read_text(encoding="utf-8"))
    out = ms.checklist_markdown(checklist, {"study": {"id": "s", "title": "T",
                                                      "synthetic": False}})
    assert out.startswith("```{=typst}\n#show figure: set block(breakable: true)\n```")
    assert "::: {#tbl-coreq}" in out
