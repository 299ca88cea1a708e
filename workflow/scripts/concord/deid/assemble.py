"""A session end to end: parse, detect, propagate cue-found names, replace,
assemble the de-identified text, redactions and key."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd

from concord import transcripts
from concord.deid.common import (MONTH_NAMES_AS_NAMES, REDACTION_COLUMNS, STOP_CAPS, Candidate,
                                 Result)
from concord.deid import lexicons
from concord.deid.detect import detect_turns, resolve
from concord.deid.detectors import PROPAGATING
from concord.deid.gates import _View
from concord.deid.matcher import _word_hits, _word_regex, fold_text
from concord.deid.review import decision_for, review_row
from concord.deid.roster import (_CLEARLY_NAME, NameIndex, _name_ok, _roster_cache,
                                 _sentence_initial, is_common)
from concord.deid.surrogates import (RosterSurrogates, Surrogates, _contains_any, _gate_strings,
                                     date_offset, shift_date)
from concord.textnorm import fold
from concord.tsvio import InputError

def deidentify_session(raw_text: str, roster: pd.DataFrame, session: str,
                       moderator_id: str = "MOD", gazetteer: list[str] | None = None,
                       source: str = "transcript", study_names: dict | None = None,
                       extra_names: list[str] | None = None, fmt: str = "auto",
                       replacement: str = "tags", date_shift: bool = False,
                       study_id: str = "", avoid: set[str] | None = None,
                       allow: set[str] | None = None, deny: list | None = None,
                       decisions: dict | None = None, codebook: set[str] | None = None) -> Result:
    """De-identify one session's raw transcript (``fmt``: its declared format, see
    :func:`concord.transcripts.parse`; ``raw_text`` is bytes for docx).

    ``roster`` holds the whole study (mentions of people from other sessions are
    redacted too); the session's rows give the speaker labels. ``gazetteer`` is an
    optional list of place names. ``study_names`` (casefolded -> (string, type), see
    :func:`study_lexicon`): names and places that cues found in *other* sessions of the
    study, propagated here too (a relative named with a cue in one session and
    mentioned bare in another). ``extra_names``: further names to redact everywhere
    (config ``deidentify.names``), with the rules of propagated names (capitalised
    or ALL CAPS). Output is deterministic.

    ``replacement``: ``tags`` (``[P07]``, ``[NAME-3]``, ``[DATE]`` ...) or
    ``surrogates``: speaker labels stay pseudonym IDs, but a roster person's mentions
    become an invented first name / surname / full name fixed per participant (seeded
    by ``study_id`` + participant id, see :class:`RosterSurrogates`), other names an
    invented name consistent within the session, places, facilities, phones
    (``555-01xx``), e-mails (``userN@example.org``), URLs and IDs obviously synthetic
    surrogates; ages stay ``[AGE]`` unless over 89 (``90 or older``); no surrogate
    equals a roster word or an original of the session (else the tag is used).
    ``date_shift``: each date is moved by the speaker's offset (:func:`date_offset`,
    in the key as ``date_shift_days``) in its own style (:func:`shift_date`); a form
    not understood, or a result equal to an original date of the session, -> ``[DATE]``.
    ``avoid``: casefolded originals of the whole study (:func:`study_originals`); no
    surrogate or shifted date equals one (the leak gate looks for them everywhere).
    """
    if replacement not in ("tags", "surrogates"):
        raise InputError(f"config deidentify.replacement: {replacement!r} is not one of "
                         f"'tags', 'surrogates'")
    cache = _roster_cache(roster)
    if session not in cache.labels:
        raise InputError(f"roster: no rows for session {session}; add the session's "
                         f"speakers (participant_id, session_id, speaker_label, ...)")
    label_to_id = dict(cache.labels[session])
    turns = transcripts.parse(raw_text, set(label_to_id), source, fmt=fmt)
    if not turns:
        raise InputError(f"{source}, line 1: no speaker turns (the transcript is empty or has "
                         f"only comments and blank lines); add the transcript text or remove "
                         f"the session from the sessions sheet")
    names = NameIndex(roster, session)
    places = {" ".join(p.split()).casefold(): " ".join(p.split())
              for p in (gazetteer or []) if p.strip()}
    gaz_regex = _word_regex(places.values())

    texts = [t.text for t in turns]
    found = detect_turns(texts, names, gaz_regex, places)
    if deny:
        for i, c in _deny_hits(deny, texts):
            found[i].append(c)
    review: list[dict] = []
    per_turn = []
    for t, cands in zip(turns, found):
        kept, pending = _triage(cands, t.text, session, allow or set(), decisions or {},
                                codebook or set())
        chosen = resolve(kept, t.text) if kept else kept
        review += _review_rows(pending, chosen, t, session)
        per_turn.append(chosen)

    # names found by cues (title/kinship) are also redacted where they occur alone
    cue_names = {k: tuple(v) for k, v in (study_names or {}).items()}
    for n in extra_names or []:  # config deidentify.names: redacted like cue-found names
        n = " ".join(n.split())
        if len(n) > 1:
            cue_names.setdefault(n.casefold(), (n, "NAME"))
    own: dict[str, tuple] = {}
    for t, cands in zip(turns, per_turn):
        for c in cands:
            if c.detector in PROPAGATING:
                s = t.text[c.start:c.end]
                parts = [s] + (s.split() if c.type == "NAME" else [])
                for n in parts:
                    if len(n) > 2 and (n not in STOP_CAPS or n in MONTH_NAMES_AS_NAMES):
                        cue_names.setdefault(n.casefold(), (n, c.type))
                        own.setdefault(n.casefold(), (n, c.type))
    if cue_names:
        _propagate(turns, texts, per_turn, cue_names, allow or set(), decisions or {},
                   session, review)

    # assemble the de-identified text, numbering generic names per session
    sur = None
    if replacement == "surrogates":
        originals = {t.text[c.start:c.end] for t, cands in zip(turns, per_turn) for c in cands}
        originals |= set(avoid or ())
        if study_id not in cache.surrogates:
            cache.surrogates[study_id] = RosterSurrogates(roster, study_id)
        sur = Surrogates(cache.surrogates[study_id], study_id, session, originals)
    shifts: dict[str, int] = {}
    date_originals = _gate_strings({t.text[c.start:c.end]
                                    for t, cands in zip(turns, per_turn) for c in cands
                                    if c.type == "DATE"} | set(avoid or ())) if date_shift else set()
    name_numbers: dict[str, str] = {}
    key_entries: dict[tuple, None] = {}
    redactions = []
    raw_spans = []
    out_lines = []
    offset = 0
    for t, cands in zip(turns, per_turn):
        speaker = label_to_id[t.label]
        key_entries[(t.label, speaker, "SPEAKER")] = None
        prefix = f"{speaker}\t"
        pieces, pos, col = [], 0, len(prefix)
        for c in cands:
            original = t.text[c.start:c.end]
            repl = None
            if date_shift and c.type == "DATE":
                if speaker not in shifts:
                    shifts[speaker] = date_offset(study_id, speaker, session, moderator_id)
                repl = shift_date(original, shifts[speaker])
                if repl is not None and _contains_any(repl, date_originals):
                    repl = None
            elif sur is not None:
                repl = (sur.r.mention(c.pseudonym, original) if c.pseudonym
                        else sur.other(c, original))
            if repl is not None:
                pass
            elif c.pseudonym:
                repl = f"[{c.pseudonym}]"
            elif c.type == "NAME":
                k = " ".join(original.split()).casefold()
                if k not in name_numbers:
                    name_numbers[k] = f"[NAME-{len(name_numbers) + 1}]"
                repl = name_numbers[k]
            else:
                repl = f"[{c.type}]"
            chunk = t.text[pos:c.start]
            pieces.append(chunk)
            col += len(chunk)
            redactions.append((offset + col, offset + col + len(repl), c.type, repl,
                               c.detector))
            pieces.append(repl)
            col += len(repl)
            pos = c.end
            key_entries[(original, repl, c.type)] = None
            raw_spans.append((t.offset + c.start, t.offset + c.end, c.type, c.detector))
        pieces.append(t.text[pos:])
        line = prefix + "".join(pieces) + "\n"
        out_lines.append(line)
        offset += len(line)
    content = "".join(out_lines)
    red = pd.DataFrame(redactions, columns=REDACTION_COLUMNS)
    entries = [{"original": o, "replacement": r, "type": ty}
               for (o, r, ty) in sorted(key_entries, key=lambda e: (e[2], e[1], e[0]))]
    key = {"session_id": session, "entries": entries}
    if date_shift:
        key["date_shift_days"] = dict(sorted(shifts.items()))
    res = Result(content, red, key, raw_spans, dict(sorted(own.items())))
    res.review = review
    return res


_WORD_FORM_REASON = ("a name found elsewhere in the session, here in the form of a word "
                     "(lower case)")
_START_REASON = ("a name found elsewhere in the session that is also a common word, here at "
                 "a sentence start")


def _propagate(turns, texts: list[str], per_turn: list, cue_names: dict, allow: set,
               decisions: dict, session: str, review: list) -> None:
    """Redact the names and places that were found once (by a cue, without a cue, or
    in another session) wherever they recur in the session, in ``per_turn`` (and
    review rows in ``review``).

    Matched as the leak gate matches a key entry (:mod:`concord.privacy`): folded
    (case, accents, apostrophes: "Jose" for "José", "O’Brien" for "O'Brien"),
    word-bounded, and by the same case rule, :func:`concord.deid.lexicons.is_common_word`:
    a name that is also a common word (Hope, Will, May) only capitalised or in capitals,
    not where the roster rules make it a word ("in May"; at a sentence start it is a
    name if the sentence makes it one, "Bill here again", else it goes to the review
    list, kept until a person decides: the gate flags it); any other
    name in any case and at any position -- the gate flags every such occurrence. A
    name that is a word by a looser measure (the hand list of names that are words:
    Grace, Rose, Max; a dictionary word: Mike) in lower case is redacted too, and goes
    to the review list (a person may keep "by the grace of God", "a wireless mike": the
    decision applies to the lower-case form only)."""
    forms: dict[str, tuple] = {}
    for name, type_ in cue_names.values():
        forms.setdefault(fold(" ".join(name.split())), (name, type_))
    matcher = _word_regex(forms)
    if matcher is None:
        return
    full = _View(texts, range(len(texts)))
    ffull = fold_text(full.text)  # same length: turn i is still at full.starts[i]
    folded = [ffull[a:a + len(t)] for a, t in zip(full.starts, texts)]
    extra: dict[int, list[Candidate]] = {}
    pending: dict[int, list[Candidate]] = {}   # reviewed, kept
    for i, s, e, found in _word_hits(matcher, ffull, full.starts, folded):
        name, type_ = forms[" ".join(found.split())]
        original = texts[i][s:e]
        if allow and fold(original) in allow:
            continue
        c = Candidate(s, e, type_, "propagated")
        if lexicons.is_common_word(name):
            # a name that is also a word: capitalised or ALL CAPS only, where a name is
            if original not in (name, name.upper()):
                continue
            if not _name_ok(name, texts[i], s, e):
                # at a sentence start the gate still sees a name: a name if the sentence
                # makes it one ("Bill here again"), else a person decides (kept until then)
                if not _sentence_initial(texts[i], s) or not original[:1].isupper():
                    continue
                d = decision_for(decisions, session, original)
                if d == "keep":
                    continue
                if d is None and _CLEARLY_NAME.match(texts[i], e) is None:
                    c.reason, c.suggest = _START_REASON, "keep"
                    pending.setdefault(i, []).append(c)
                    continue
        elif (not original[:1].isupper() and " " not in name.strip()
              and (is_common(name) or fold(name) in lexicons.dictionary_words())):
            d = decision_for(decisions, session, original)
            if d == "keep":
                continue
            if d is None:
                c.reason, c.suggest = _WORD_FORM_REASON, "redact"
        extra.setdefault(i, []).append(c)
    covered = []   # raw spans now redacted: a review row "kept" there is moot
    for i in sorted(extra):
        per_turn[i] = resolve(per_turn[i] + extra[i], texts[i])
        chosen = {id(c) for c in per_turn[i]}
        t = turns[i]
        for c in extra[i]:
            if id(c) not in chosen:
                continue
            covered.append((t.offset + c.start, t.offset + c.end))
            if c.reason is not None:
                review.append(review_row(session, t.line, t.offset + c.start,
                                         t.offset + c.end, t.text, c.start, c.end, c.type,
                                         c.reason, c.suggest))
    if covered:
        review[:] = [r for r in review if r["suggestion"] != "keep"
                     or not any(a <= r["start"] and r["end"] <= b for a, b in covered)]
    for i in sorted(pending):
        t = turns[i]
        for c in pending[i]:
            if not any(o.start < c.end and c.start < o.end for o in per_turn[i]):
                review.append(review_row(session, t.line, t.offset + c.start,
                                         t.offset + c.end, t.text, c.start, c.end, c.type,
                                         c.reason, c.suggest))


_CODEBOOK_REASON = "also a codebook term or code label"


@functools.lru_cache(maxsize=65536)
def _triage_forms(original: str) -> tuple[str, tuple, tuple]:
    """(folded form, its words, its runs of letters) of a candidate's text (the same
    names recur in every turn: cached)."""
    fo = fold(" ".join(original.split()))
    return fo, tuple(fo.split()), tuple(re.findall(r"[^\W\d_]+", fo))


def _triage(cands: list[Candidate], text: str, session: str, allow: set[str],
            decisions: dict, codebook: set[str]):
    """Split candidates into those to resolve (redacted unless a longer one wins) and
    the uncertain ones (``reason``) with what is done with them: the allow-list drops a
    candidate; a codebook term becomes uncertain (kept unless a capitalised roster name
    mid-sentence); a person's decision wins over the suggestion."""
    kept, pending = [], []
    for c in cands:
        original = text[c.start:c.end]
        fo, fo_words, letter_words = _triage_forms(original)
        if c.detector != "deny" and (fo in allow or all(w in allow for w in fo_words)):
            continue
        if (c.reason is None and c.detector != "deny" and codebook
                and c.type in ("NAME", "LOCATION", "FACILITY")
                and any(w in codebook for w in letter_words)):
            # a capitalised roster name that the sentence makes a name stays redacted
            clearly = (c.detector.startswith("roster") and original[:1].isupper()
                       and (" " in original.strip() or not _sentence_initial(text, c.start)
                            or _CLEARLY_NAME.match(text, c.end) is not None))
            c.reason, c.suggest = _CODEBOOK_REASON, "redact" if clearly else "keep"
        if c.reason is not None:
            d = decision_for(decisions, session, original)
            if d == "keep":
                continue
            if d == "redact":
                c.reason = None
            else:
                pending.append(c)
                if c.suggest != "redact":
                    continue
        kept.append(c)
    return kept, pending


def _review_rows(pending: list[Candidate], chosen: list[Candidate], turn, session: str):
    """Review rows for the uncertain candidates that matter: redacted ones that were
    chosen, kept ones that no chosen candidate covers."""
    rows = []
    ids = {id(c) for c in chosen}
    for c in pending:
        if c.suggest == "redact" and id(c) not in ids:
            continue
        if c.suggest == "keep" and any(o.start < c.end and c.start < o.end for o in chosen):
            continue
        rows.append(review_row(session, turn.line, turn.offset + c.start, turn.offset + c.end,
                               turn.text, c.start, c.end, c.type, c.reason, c.suggest))
    return rows


def _deny_hits(deny: list, texts: list[str]):
    """(turn index, candidate) for every deny-list term (any case, folded)."""
    forms = {fold(t): ty for t, ty in deny}
    matcher = _word_regex(forms)
    if matcher is None:
        return
    for i, t in enumerate(texts):
        for m in matcher.finditer(fold_text(t)):
            yield i, Candidate(m.start(), m.end(), forms[" ".join(m.group().split())], "deny")


def study_lexicon(raws: dict, roster: pd.DataFrame, **kw) -> dict:
    """Names and places found by cues (title, kinship, named, place cues) in any session
    of the study: ``{casefolded: [string, type]}``, for :func:`deidentify_session`'s
    ``study_names``. ``raws``: session id -> raw transcript (``str`` or docx bytes)."""
    out: dict = {}
    for sid in sorted(raws):
        res = deidentify_session(raws[sid], roster, sid, **kw)
        for k, v in res.cue_strings.items():
            out.setdefault(k, list(v))
    return dict(sorted(out.items()))


def study_originals(raws: dict, roster: pd.DataFrame, **kw) -> set[str]:
    """Every original identifier (not speaker labels, not ages) that the tag-mode
    de-identification finds in any session, casefolded: what surrogates and shifted
    dates must never equal. ``raws``: session id -> raw transcript."""
    out: set[str] = set()
    for sid in sorted(raws):
        res = deidentify_session(raws[sid], roster, sid, **kw)
        out |= {" ".join(e["original"].split()).casefold() for e in res.key["entries"]
                if e["type"] not in ("SPEAKER", "AGE")}
    return out


def read_gazetteer(value) -> list[str]:
    """A gazetteer given as a list of names, or a path to a file with one per line."""
    if not value:
        return []
    if isinstance(value, str):
        lines = Path(value).read_text(encoding="utf-8").splitlines()
        return [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    return [str(x) for x in value]
