"""Raw transcript formats -> turns: hand-written samples of each format
(tests/data/formats/, a DOCX built here with python-docx) and every bad input."""

from pathlib import Path

import docx
import pytest
from docx.shared import Pt

from concord import transcripts as T
from concord.tsvio import InputError

FORMATS = Path(__file__).parent / "data" / "formats"


def turns(raw, labels=None, fmt="auto", source="t"):
    return [(t.line, t.label, t.text) for t in T.parse(raw, labels, source, fmt)]


def test_service_multiline_variants():
    raw = T.read_raw(FORMATS / "service_multiline.txt")
    labels = {"Moderator", "Speaker 2", "Maria Lopez", "P3"}
    got = turns(raw, labels, "labelled_multiline")
    assert got == [
        (4, "Moderator", "Okay, I think we're recording. Welcome, everyone, and thanks for "
                         "making the time. Let's start with introductions -- just your first "
                         "name."),
        (8, "Speaker 2", "Hi, I'm Joan. I was diagnosed in, um, 2019."),
        # upper-case label mapped to the roster spelling; timestamps removed;
        # the inaudible marker normalised
        (11, "Maria Lopez", "And I'm Maria. Stage four since last spring. And honestly the "
                            "fatigue is the worst of it. [inaudible] most days."),
        (14, "P3", "Yeah. Same here. [crosstalk]"),
        (15, "P3", "Sorry, go ahead."),
        (17, "Moderator", "What matters most when you and your doctor choose a treatment?"),
        (18, "Speaker 2", "Time with my grandkids. Dr. Okafor said the scan looked stable -- "
                          "which, you know, that's something."),
        (20, "Maria Lopez", "[inaudible] ... I just want to feel like myself at 2 p.m. on a "
                            "Tuesday."),
    ]


def test_strict_labelled_offsets_exact_and_continuation_refused():
    raw = "# c\n\nMaria: I said: no.\n[00:00:04] MOD: Thanks.\nJOAN - Fine, thanks.\n"
    ts = T.parse(raw, {"Maria", "MOD", "Joan"}, "t", "labelled")
    assert [(t.line, t.label, t.text) for t in ts] == [
        (3, "Maria", "I said: no."), (4, "MOD", "Thanks."), (5, "Joan", "Fine, thanks.")]
    for t in ts:
        assert t.exact and raw[t.offset:t.offset + len(t.text)] == t.text
    with pytest.raises(InputError, match=r"t, line 2: expected 'Label: text'.*labelled_multiline"):
        T.parse("Maria: hi\njust more\n", {"Maria"}, "t", "labelled")


def test_labels_alone_on_their_line_need_text():
    with pytest.raises(InputError, match=r"t, line 1: speaker label #1 has a label but no text") as exc:
        T.parse("Maria:\nJoan: hi\n", {"Maria", "Joan"}, "t", "labelled_multiline")
    assert "Maria" not in str(exc.value)


def test_zoom_webvtt_prefixes_and_merged_cues():
    raw = T.read_raw(FORMATS / "zoom.vtt")
    got = turns(raw, {"Moderator", "Joan", "Maria Lopez"}, "webvtt")
    assert got == [
        (5, "Moderator", "Thanks for joining on Zoom, everyone. Can you hear me okay?"),
        (13, "Joan", "Yes, loud and clear. I'm in my kitchen, sorry about the dog. I had "
                     "chemo on Monday so I might fade out a bit."),
        (21, "Maria Lopez", "Hi. What I care about is being able to work & still pick up my "
                            "son."),
        (25, "Moderator", "Thank you, Maria."),
    ]


def test_teams_webvtt_voice_tags(capsys):
    raw = T.read_raw(FORMATS / "teams.vtt")
    got = turns(raw, None, "auto", source="teams.vtt")
    assert "teams.vtt: format detected as webvtt" in capsys.readouterr().err
    assert got == [
        (7, "Moderator", "Good afternoon and welcome to the group. Let's go around the table."),
        (15, "Dr. Sam Reyes", "From my side, survival data matter, but so does how the patient "
                              "feels."),
        (20, "Kim Tran", "I agree. [crosstalk] Side effects drive most calls. Especially the "
                         "neuropathy."),
    ]


def _docx(path):
    d = docx.Document()
    d.add_paragraph("Focus group 3 -- SYNTHETIC transcript for tests", style="Title")
    # a title paragraph before the first turn is refused (nothing silently dropped)
    d.paragraphs[0].text = "Focus group 3 -- SYNTHETIC transcript for tests"
    p = d.add_paragraph()
    p.add_run("Interviewer:").bold = True
    p.add_run(" Thanks for coming in today.")
    p = d.add_paragraph()
    r = p.add_run("KIM TRAN")
    r.bold = True
    r.font.size = Pt(11)
    p.add_run("  What matters most is not losing my independence.")
    d.add_paragraph("And being around for my daughter's wedding.")  # continuation
    d.add_paragraph("")
    d.add_paragraph("Sam: Fair point. [inaudible 00:04:12] agree.")
    d.save(path)
    return path


def test_docx_bold_speakers_and_colon_labels(tmp_path):
    raw = T.read_raw(_docx(tmp_path / "fg3.docx"))
    assert isinstance(raw, bytes)
    labels = {"Interviewer", "Kim Tran", "Sam"}
    with pytest.raises(InputError, match=r"paragraph 1: expected 'Label: text'"):
        T.parse(raw, labels, "fg3.docx", "docx")  # a title that is not a turn
    d = docx.Document(tmp_path / "fg3.docx")
    d.paragraphs[0].text = ""
    d.save(tmp_path / "fg3.docx")
    got = turns(T.read_raw(tmp_path / "fg3.docx"), labels, "docx")
    assert got == [(2, "Interviewer", "Thanks for coming in today."),
                   (3, "Kim Tran", "What matters most is not losing my independence. And "
                                   "being around for my daughter's wedding."),
                   (6, "Sam", "Fair point. [inaudible] agree.")]


def test_docx_unknown_bold_speaker(tmp_path):
    d = docx.Document()
    p = d.add_paragraph()
    p.add_run("Stranger").bold = True
    p.add_run(": hello")
    d.save(tmp_path / "a.docx")
    with pytest.raises(InputError, match=r"a\.docx, paragraph 1: speaker label #1 of this "
                                         r"file is not in the roster") as err:
        T.parse(T.read_raw(tmp_path / "a.docx"), {"Sam"}, "a.docx", "docx")
    assert "Stranger" not in str(err.value)  # a label may be a name: never echoed


def test_auto_detection(tmp_path, capsys):
    assert T.detect_format("WEBVTT\n\n")[0] == "webvtt"
    assert T.detect_format("\ufeffWEBVTT\n")[0] == "webvtt"
    assert T.detect_format("Maria: hi")[0] == "labelled"
    T.parse("Maria: hi\n", {"Maria"}, "x.txt")
    assert "x.txt: format detected as labelled" in capsys.readouterr().err
    raw = T.read_raw(_docx(tmp_path / "d.docx"))
    assert T.detect_format(raw)[0] == "docx"


def test_bad_inputs_name_file_and_line(tmp_path):
    with pytest.raises(InputError, match=r"s\.txt, line 3: speaker label #2 of this file is "
                                         r"not in the roster") as exc:
        T.parse("Maria: hi\n\nStranger: who\n", {"Maria"}, "s.txt", "labelled")
    assert "Stranger" not in str(exc.value)
    with pytest.raises(InputError, match=r"s\.txt, line 1: expected 'Label: text'.*before any"):
        T.parse("just text\nMaria: hi\n", {"Maria"}, "s.txt", "labelled_multiline")
    with pytest.raises(InputError, match=r"v\.vtt, line 3: expected a cue timing line"):
        T.parse("WEBVTT\n\n00:01 -> 00:02\nhi\n", {"Maria"}, "v.vtt", "webvtt")
    with pytest.raises(InputError, match=r"v\.vtt, line 4: the first cue names no speaker"):
        T.parse("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhello\n", {"Maria"}, "v.vtt")
    with pytest.raises(InputError, match=r"v\.vtt, line 4: voice #1 of this file is not in "
                                         r"the roster") as exc:
        T.parse("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Bob>hello\n", {"Maria"}, "v.vtt")
    assert "Bob" not in str(exc.value)
    with pytest.raises(InputError, match=r"declared format 'labelled' but the content looks "
                                         r"like webvtt"):
        T.parse("WEBVTT\n", {"Maria"}, "v.vtt", "labelled")
    with pytest.raises(InputError, match=r"unknown transcript format 'rtf'"):
        T.parse("Maria: hi", {"Maria"}, "v.vtt", "rtf")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Maria: hi\nJoan: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.txt, line 2: not UTF-8"):
        T.read_raw(bad)


def test_markers_normalised():
    assert T.normalise_markers("a [Inaudible 00:12:40] b (crosstalk) c [laughs]") == \
        "a [inaudible] b [crosstalk] c [laughter]"
