"""Transcript formats from the tools researchers use.

Real files nobody on the team wrote are read from ../shared/fixtures/ (skipped with a
reason when absent): QualCoder's example transcript, mozilla/vtt.js's WebVTT parser
fixtures with vtt.js's expected cue parses, Taguette's STYLE/NOTE/SRT-timestamp test
file, and four QMSum meeting transcripts (AMI, ICSI). Formats not among them are
written here, synthetic, from each tool's documented export layout (named per test).
"""

import io
import json
import tempfile
from pathlib import Path

import docx
import pytest

from concord import transcripts as T
from concord.tsvio import InputError

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def fixture(rel):
    path = FIXTURES / rel
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared fixtures sit beside the clone)")
    return path


def parsed(raw, labels=None, fmt="auto", source="t"):
    return [(t.label, t.text) for t in T.parse(raw, labels, source, fmt, log=io.StringIO())]


# --- QualCoder: '[id1] text' -----------------------------------------------------------

QC_LABELS = {"id1", "id2", "id3"}


def test_qualcoder_example_transcript():
    raw = T.read_raw(fixture("transcripts/qualcoder_example_transcript.txt"))
    for labels in (None, QC_LABELS):
        turns = T.parse(raw, labels, "qc.txt", "labelled")
        assert [t.label for t in turns] == ["id1", "id2", "id3", "id1", "id3", "id1", "id2"]
        assert [t.line for t in turns] == [1, 3, 5, 7, 9, 11, 13]
        assert turns[2].text.startswith("No. I think the slides are OK")
        for t in turns:
            assert t.exact and raw[t.offset:t.offset + len(t.text)] == t.text


def test_bom_crlf_nbsp_everywhere():
    """Notepad/Excel's byte-order mark, Windows line ends and no-break spaces give the
    same turns, with exact raw offsets (a BOM counts as whitespace)."""
    raw = T.read_raw(fixture("transcripts/qualcoder_example_transcript.txt"))
    want = parsed(raw, QC_LABELS, "labelled")
    variant = "\ufeff" + raw.replace("\n", "\r\n").replace("[id2] ", "[id2]\u00a0")
    assert T.detect_format(variant)[0] == "labelled"
    turns = T.parse(variant, QC_LABELS, "qc.txt", log=io.StringIO())
    assert [(t.label, t.text) for t in turns] == want
    for t in turns:
        assert variant[t.offset:t.offset + len(t.text)] == t.text
    vtt = "\ufeffWEBVTT\r\n\r\n00:00:01.000 --> 00:00:02.000\r\n<v Maria>Hi\u00a0there.\r\n"
    assert parsed(vtt, {"Maria"}) == [("Maria", "Hi there.")]
    srt = "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nMaria: Hi.\r\n"
    assert parsed(srt, {"Maria"}) == [("Maria", "Hi.")]


# --- speaker conventions and timestamps (synthetic, from each tool's documented layout) -

LABELS = {"Moderator", "Maria Lopez", "Speaker 2", "P3"}
WANT = [("Moderator", "What matters most to you?"),
        ("Maria Lopez", "Time with my family."),
        ("Speaker 2", "Being able to work. And not feeling sick all day.")]


@pytest.mark.parametrize("name, raw", [
    ("colon", "Moderator: What matters most to you?\nMaria Lopez: Time with my family.\n"
              "Speaker 2: Being able to work. And not feeling sick all day.\n"),
    ("brackets (QualCoder)", "[Moderator] What matters most to you?\n[Maria Lopez] Time with "
                             "my family.\n[Speaker 2]: Being able to work. And not feeling "
                             "sick all day.\n"),
    ("hash", "# Session 4 -- comment line\n#Moderator: What matters most to you?\n"
             "#Maria Lopez: Time with my family.\n"
             "#Speaker 2: Being able to work. And not feeling sick all day.\n"),
    ("at", "@Moderator: What matters most to you?\n@Maria Lopez: Time with my family.\n"
           "@Speaker 2: Being able to work. And not feeling sick all day.\n"),
    # CHAT (TalkBank): '*SPK:' main tiers; '@Begin'/'@Participants:' headers skipped
    ("CHAT", "@Begin\n@Participants:\tMOD Moderator\n*Moderator:\tWhat matters most to you?\n*Maria Lopez:\tTime with my family.\n"
             "*Speaker 2:\tBeing able to work. And not feeling sick all day.\n"),
    ("braces", "{Moderator} What matters most to you?\n{Maria Lopez} Time with my family.\n"
               "{Speaker 2} Being able to work. And not feeling sick all day.\n"),
    # Trint / oTranscribe: a leading timestamp in brackets or bare
    ("leading timestamps", "[00:00:05] Moderator: What matters most to you?\n"
                           "00:00:09 Maria Lopez: Time with my family.\n"
                           "(00:00:14) Speaker 2: Being able to work. And not feeling sick "
                           "all day.\n"),
    # f4/f5transkript and MAXQDA: '#hh:mm:ss-f#' at the end of a paragraph
    ("f4/MAXQDA", "Moderator: What matters most to you? #00:00:05-2#\n"
                  "Maria Lopez: Time with my family. #00:00:09-8#\n"
                  "Speaker 2: Being able to work. And not feeling sick all day. #00:00:14-1#\n"),
    # MAXQDA/NVivo exports with paragraph numbers
    ("paragraph numbers", "1\tModerator: What matters most to you?\n"
                          "2\tMaria Lopez: Time with my family.\n"
                          "3  Speaker 2: Being able to work. And not feeling sick all day.\n"),
    ("spaced dash", "Moderator - What matters most to you?\nMaria Lopez - Time with my "
                    "family.\nSpeaker 2 – Being able to work. And not feeling sick all day.\n"),
])
def test_one_line_conventions(name, raw):
    assert parsed(raw, LABELS, "labelled") == WANT, name
    assert parsed(raw, None, "labelled") == WANT, name


@pytest.mark.parametrize("name, raw", [
    # Otter.ai .txt export: 'Name  m:ss' on its own line, text below, blank line between
    ("Otter", "Moderator  0:05\nWhat matters most to you?\n\nMaria Lopez  0:09\nTime with my "
              "family.\n\nSpeaker 2  0:14\nBeing able to work.\nAnd not feeling sick all "
              "day.\n"),
    # Rev .txt export: 'Name (hh:mm:ss):' on its own line
    ("Rev", "Moderator (00:00:05):\nWhat matters most to you?\n\nMaria Lopez (00:00:09):\n"
            "Time with my family.\n\nSpeaker 2 (00:00:14):\nBeing able to work. And not "
            "feeling sick all day.\n"),
    # timestamps on their own line (Trint, DaVinci, NVivo/MAXQDA focus-group exports)
    ("timestamp lines", "[00:00:05]\nModerator: What matters most to you?\n00:00:09\n"
                        "Maria Lopez: Time with my family.\n[00:00:14 - 00:00:20]\n"
                        "Speaker 2: Being able to work.\nAnd not feeling sick all day.\n"),
    ("roster label alone", "[00:00:03:18 - 00:00:08:08]\nModerator\nWhat matters most to you?"
                           "\n\nMaria Lopez\nTime with my family.\n\nSpeaker 2\nBeing able to "
                           "work. And not feeling sick all day.\n"),
])
def test_multiline_conventions(name, raw):
    labels = LABELS
    assert parsed(raw, labels, "labelled_multiline") == WANT, name


def test_errors_name_line_never_the_label():
    raw = "Moderator: Hi.\nMaria Lopez: Hello.\nJoan Smith: Who am I?\n"
    with pytest.raises(InputError, match=r"s\.txt, line 3: speaker label #3 of this file is "
                                         r"not in the roster") as err:
        T.parse(raw, LABELS, "s.txt", "labelled")
    assert "Joan" not in str(err.value)
    with pytest.raises(InputError, match=r"s\.txt, line 2: speaker label #2 .*not in") as err:
        T.parse("[Moderator] Hi.\n[Joan Smith] hello\n", LABELS, "s.txt", "labelled")
    assert "Joan" not in str(err.value)
    with pytest.raises(InputError, match=r"s\.txt, line 1: speaker label #1 has a label but "
                                         r"no text") as err:
        T.parse("Maria Lopez:\nModerator: Hi.\n", LABELS, "s.txt", "labelled_multiline")
    assert "Maria" not in str(err.value)


# --- WebVTT: mozilla/vtt.js fixtures with vtt.js's expected parses ------------------------

VTTJS = ["cycle-collector-talk", "spec-example", "no-end-gt", "with-annotation",
         "with-closing-span"]


@pytest.mark.parametrize("name", VTTJS)
def test_vttjs_cues_match_expected_parse(name):
    raw = T.read_raw(fixture(f"webvtt/mozilla_vttjs_{name}.vtt"))
    expected = json.loads(fixture(f"webvtt/mozilla_vttjs_{name}.json").read_text())["cues"]
    cues = T.webvtt_cues(raw, name)
    assert len(cues) == len(expected)
    for c, e in zip(cues, expected):
        assert (c.id, c.start, c.end, c.text) == (e["id"], e["startTime"], e["endTime"],
                                                  e["text"])
        assert c.settings.get("align", "middle") == e["align"]
        assert int(c.settings.get("size", "100%").rstrip("%")) == e["size"]


def test_vttjs_voices_become_turns():
    raw = T.read_raw(fixture("webvtt/mozilla_vttjs_cycle-collector-talk.vtt"))
    turns = T.parse(raw, None, "talk.vtt", "webvtt")
    # cue 2 has two voices: two turns; the italic sound after </v> continues Kyle
    assert [(t.label, t.line) for t in turns[:3]] == [
        ("Kyle Huey", 4), ("Chris Pearce", 7), ("Kyle Huey", 7)]
    assert turns[1].text == "Okay, we're good now."
    assert turns[2].text.startswith("Oh, now we're good? [laughter] So thanks again for coming.")
    assert len(turns) == 3
    spec = T.parse(T.read_raw(fixture("webvtt/mozilla_vttjs_spec-example.vtt")), {
        "Roger Bingham", "Neil deGrasse Tyson"}, "spec.vtt", "webvtt")
    assert [t.label for t in spec] == ["Roger Bingham", "Neil deGrasse Tyson"] * 2 + [
        "Roger Bingham"]
    assert spec[0].text.startswith("We are in New York City We're actually at the Lucern")
    assert spec[3].text == "[laughter]"
    assert parsed(T.read_raw(fixture("webvtt/mozilla_vttjs_with-annotation.vtt"))) == [
        ("Mary", "No way!")]
    assert parsed(T.read_raw(fixture("webvtt/mozilla_vttjs_with-closing-span.vtt"))) == [
        ("Joe", "Hee! Hee!")]
    # '<v' without '>': the W3C tokenizer reads the rest as the voice's annotation and
    # the cue says nothing (vtt.js does the same)
    assert parsed(T.read_raw(fixture("webvtt/mozilla_vttjs_no-end-gt.vtt"))) == []
    with pytest.raises(InputError, match=r"x\.vtt, line 4: voice #1 of this file is not in"):
        T.parse("WEBVTT\n\n00:00.000 --> 00:01.000\n<v.loud Bob>Hi</v>\n", {"Mary"}, "x.vtt")


def test_captions_without_names_unknown_speaker_or_error():
    raw = T.read_raw(fixture("webvtt/taguette_style_note_srt_timestamps.vtt"))
    cues = T.webvtt_cues(raw, "tg.vtt")  # STYLE and NOTE skipped, ',' decimals read
    assert [(c.id, c.start, c.end) for c in cues] == [("1", 0.123, 3.456), ("", 64.843, 65.428)]
    log = io.StringIO()
    turns = T.parse(raw, None, "tg.vtt", "webvtt", log=log)
    assert [(t.label, t.text) for t in turns] == [
        ("Unknown speaker", "Hi there This is an example of a subtitle file in SRT format")]
    assert "WARNING" in log.getvalue() and "Unknown speaker" in log.getvalue()
    with pytest.raises(InputError, match=r"tg\.vtt, line 19: the first cue names no speaker.*"
                                         r"speaker_label 'Unknown speaker'"):
        T.parse(raw, {"Maria"}, "tg.vtt", "webvtt")
    turns = T.parse(raw, {"Maria", "unknown speaker"}, "tg.vtt", "webvtt", log=io.StringIO())
    assert {t.label for t in turns} == {"unknown speaker"}


def test_srt_with_names():
    # SubRip as written by caption tools: number, comma timing, payload, blank line
    raw = ("1\n00:00:01,000 --> 00:00:04,000\nModerator: What matters most to you?\n\n"
           "2\n00:00:04,500 --> 00:00:06,000\n[Maria Lopez] Time with my family.\n\n"
           "3\n00:00:06,000 --> 00:00:08,000\n<v Speaker 2>Being able to work.\n\n"
           "4\n00:00:08,000 --> 00:00:10,000\nAnd not feeling sick all day.\n")
    assert T.detect_format(raw)[0] == "srt"
    assert parsed(raw, LABELS) == WANT
    with pytest.raises(InputError, match=r"s\.srt, line 5: expected a cue timing line"):
        T.parse("1\n00:00:01,000 --> 00:00:02,000\nModerator: Hi\n\n2\n00:00:03\nhi\n",
                LABELS, "s.srt")


# --- QMSum meeting transcripts (AMI, ICSI) ----------------------------------------------

@pytest.mark.parametrize("meeting", ["ES2004a", "IS1003a", "TS3004a", "Bed003"])
def test_qmsum_meetings(meeting):
    path = fixture(f"transcripts/qmsum_{meeting}.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    raw = T.read_raw(path)
    assert T.detect_format(raw)[0] == "qmsum"
    turns = T.parse(raw, set(doc["speakers"]) | {t["speaker"] for t in doc["turns"]},
                    meeting, log=io.StringIO())
    kept = [t for t in doc["turns"] if T.qmsum_text(t["content"])]
    assert len(turns) == len(kept) > 250
    assert [t.line for t in turns] == [t["turn"] for t in kept]  # QMSum's turn numbers
    for t in turns:
        assert "{" not in t.text and "}" not in t.text and " ." not in t.text and t.text


def test_qmsum_markup_rules():
    assert T.qmsum_text("{vocalsound} Are we {disfmarker} we're not allowed to dim the "
                        "lights ?") == "Are we — we're not allowed to dim the lights?"
    assert T.qmsum_text("{disfmarker} so I was {disfmarker}") == "so I was—"
    assert T.qmsum_text("Um {pause} I {gap} know .") == "Um [pause] I [inaudible] know."
    assert T.qmsum_text("{vocalsound}") == ""
    es = fixture("transcripts/qmsum_ES2004a.json")
    turns = T.parse(T.read_raw(es), None, "ES2004a", "qmsum")
    assert (turns[1].label, turns[1].text) == (
        "Project Manager", "Are we — we're not allowed to dim the lights so people can see "
                           "that a bit better?")
    with pytest.raises(InputError, match=r"q\.json, turn 1: speaker label #2 of this file"):
        T.parse('{"turns": [{"speaker": "A", "content": "hi"}, {"speaker": "Zed Q", '
                '"content": "yo"}]}', {"A"}, "q.json")
    with pytest.raises(InputError, match=r"q\.json, line 1: not valid JSON"):
        T.parse('{"turns": [', {"A"}, "q.json", "qmsum")


# --- DOCX: speaker tables and bold labels ----------------------------------------------

def test_docx_speaker_tables(tmp_path):
    """NVivo-style transcript table (Timespan | Speaker | Content) with a header row,
    a bold-label paragraph before it and a merged-cell row."""
    d = docx.Document()
    p = d.add_paragraph()
    p.add_run("Moderator").bold = True
    p.add_run(": What matters most to you?")
    table = d.add_table(rows=4, cols=3)
    for r, cells in enumerate([("Timespan", "Speaker", "Content"),
                               ("0:00:09.0 - 0:00:13.0", "Maria Lopez", "Time with my family."),
                               ("0:00:14.0 - 0:00:18.0", "Speaker 2", "Being able to work."),
                               ("", "", "And not feeling sick all day.")]):
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
    d.save(tmp_path / "t.docx")
    raw = T.read_raw(tmp_path / "t.docx")
    assert parsed(raw, LABELS, "docx")[:2] == WANT[:2]
    turns = T.parse(raw, LABELS, "t.docx", "docx")
    assert turns[2].text == "Being able to work. And not feeling sick all day."
    d = docx.Document()
    row = d.add_table(rows=1, cols=2).rows[0]
    row.cells[0].text, row.cells[1].text = "Joan Smith", "hello"
    d.save(tmp_path / "u.docx")
    with pytest.raises(InputError, match=r"u\.docx, table 1, row 1: speaker label #1") as err:
        T.parse(T.read_raw(tmp_path / "u.docx"), LABELS, "u.docx", "docx")
    assert "Joan" not in str(err.value)


# --- PDF (pypdf): page headers, footers and line numbers removed ---------------------------

def _pdf(body: str, numbered: bool) -> bytes:
    typst = pytest.importorskip("typst")
    src = ('#set page(width: 12cm, height: 7cm, margin: 1.2cm, header: [Focus group 2 -- '
           'SYNTHETIC test transcript], footer: context [Page #counter(page).display() of '
           '#counter(page).final().first()])\n'
           + ('#set par.line(numbering: "1")\n' if numbered else "") + body)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "t.typ").write_text(src, encoding="utf-8")
        return typst.compile(str(Path(d) / "t.typ"))


PDF_BODY = ("Moderator: What matters most to you?\n\nMaria Lopez: Time with my family, time "
            "at home, not in the clinic, and time to do the things I still want to do.\n\n"
            "Speaker 2: Being able to work. I had chemo on Monday and I was back at my "
            "desk by Thursday. And not feeling sick all day.\n\nModerator: Thank you. And "
            "the side effects?\n\nSpeaker 2: The fatigue. Nothing else comes close.\n")


@pytest.mark.parametrize("numbered", [False, True])
def test_pdf_transcript(numbered):
    raw = _pdf(PDF_BODY, numbered)
    assert T.detect_format(raw)[0] == "pdf"
    turns = T.parse(raw, LABELS, "t.pdf", log=io.StringIO())
    assert [t.label for t in turns] == ["Moderator", "Maria Lopez", "Speaker 2", "Moderator",
                                        "Speaker 2"]
    assert turns[1].text == ("Time with my family, time at home, not in the clinic, and time "
                             "to do the things I still want to do.")
    assert turns[2].text.endswith("back at my desk by Thursday. And not feeling sick all day.")
    assert not any("SYNTHETIC" in t.text or "Page" in t.text for t in turns)


def test_pdf_line_numbers_at_line_start():
    """Line numbers printed before each line (court/interview transcripts)."""
    lines = ["Moderator: What matters most to you?", "Maria Lopez: Time with my family,",
             "time at home, not in the clinic.", "Speaker 2: Being able to work."] * 3
    body = "\n".join(f"{i} #h(1em) {line} \\" for i, line in enumerate(lines, start=1))
    turns = T.parse(_pdf(body + "\n", False), LABELS, "n.pdf", "pdf")
    assert [(t.label, t.text) for t in turns] == [
        ("Moderator", "What matters most to you?"),
        ("Maria Lopez", "Time with my family, time at home, not in the clinic."),
        ("Speaker 2", "Being able to work.")] * 3
    assert "page 2" in turns[-1].where


def test_pdf_errors():
    with pytest.raises(InputError, match=r"b\.pdf: not a readable PDF"):
        T.parse(b"%PDF-1.4 garbage", LABELS, "b.pdf", "pdf")
