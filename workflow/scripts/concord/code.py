"""Stage 3, coding: the automatic (machine) coder and the combination of codings.

Pure functions; ``workflow/scripts/code_machine.py`` and
``workflow/scripts/combine_codings.py`` read and write the files.

Automatic coder
---------------
Each coding unit (a segment whose ``role`` is one of ``code.roles``, default
``participant``; see ``concord/roles.py``) is tokenized with the pattern
:data:`TOKEN_PATTERN` on the ``regex`` engine, as NLTK's
:class:`~nltk.tokenize.RegexpTokenizer` compiles it (no downloaded NLTK data is needed):
words, with English contractions split the Treebank way (``don't`` -> ``do`` +
``n't``, ``cannot`` -> ``can`` + ``not``, ``I'm`` -> ``I`` + ``'m``). Tokens are
lowercased (curly apostrophes straightened) and stemmed with the Snowball English
stemmer. A code's patterns (see ``docs/architecture.md``) match as follows:

* ``terms``: a token whose stem equals the term's stem (a term that tokenizes into
  several words, e.g. ``side-effect``, is matched as a phrase);
* ``phrases``: a contiguous run of tokens whose stems equal the phrase's stems;
* ``regex``: a case-insensitive search on the segment text with RE2 (linear time;
  no backreferences or lookaround, ``\\b`` is an ASCII word boundary; see
  :func:`concord.limits.compile_pattern`);
* ``exclude``: stemmed phrases; any term, phrase or regex match whose characters
  overlap an occurrence of an exclude phrase is vetoed;
* negation: a match is *negated* when one of the negation cues (compared on the
  lowercased surface token, e.g. ``not``, ``n't``, ``never``) occurs among the
  ``window`` tokens before the match's first token, looking back no further than
  clause punctuation (``, ; : . ! ? ( ) — –``). With ``negation: flag`` (the default)
  the code is applied with ``negated=true``; with ``skip`` a negated match does not
  count.

One row per (segment, code): the first (leftmost; at equal start a phrase before a
term before a regex) non-negated match, or -- with ``flag`` and only negated
matches -- the first negated match. ``evidence`` is the matched surface text of the
segment, ``rule`` is ``term:<stem>``, ``phrase:<phrase as written>`` or
``regex:<pattern>``.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import regex

from concord import roles as roles_mod
from concord import limits
from concord.tsvio import InputError

# Words; "n't" split off its verb; "cannot" split; clitics 's 'm 're 've 'll 'd.
TOKEN_PATTERN = (r"[^\W_]+(?=n['’]t\b)|n['’]t\b|(?i:can)(?=not\b)"
                 r"|['’](?:s|m|re|ve|ll|d)\b|[^\W_]+")
# compiled as NLTK's RegexpTokenizer(TOKEN_PATTERN) compiles it (the ``regex`` engine,
# these flags), without its per-match timeout wrapper: the same tokens, a third of the cost
_TOKEN_RE = regex.compile(TOKEN_PATTERN, regex.UNICODE | regex.MULTILINE | regex.DOTALL)
# the same as one group: split() gives the gaps and the tokens in turn (no token is empty)
_TOKEN_SPLIT = regex.compile(f"({TOKEN_PATTERN})", regex.UNICODE | regex.MULTILINE | regex.DOTALL)
_CLAUSE_BREAK = re.compile(r"[,;:.!?()\[\]{}—–]")

MACHINE_COLUMNS = ["segment_id", "code", "evidence", "rule", "negated"]
RESERVED_CODERS = ("machine", "consensus", "learned")


def normalize(token: str) -> str:
    """Lowercase a token and straighten curly apostrophes."""
    return token.lower().replace("’", "'")


def tokenize(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the word tokens of ``text``."""
    return [m.span() for m in _TOKEN_RE.finditer(text)]


@functools.lru_cache(maxsize=None)
def _stem_word(word: str) -> str:
    """Snowball stem of a normalized word, remembered: a study's vocabulary is small
    next to its millions of tokens, and NLTK's stemmer is pure Python."""
    return _stemmer().stem(word)


@functools.lru_cache(maxsize=1)
def _stemmer():
    """NLTK's Snowball English stemmer, imported when first needed: importing NLTK
    loads most of it (scipy.stats, scikit-learn), seconds of CPU that the scripts
    which only read a codebook or combine codings need not pay."""
    from nltk.stem.snowball import SnowballStemmer
    return SnowballStemmer("english")


@functools.lru_cache(maxsize=None)
def _word_stem(token: str) -> tuple[str, str]:
    """``(normalized word, stem)`` of a token as written, remembered."""
    word = normalize(token)
    return word, _stem_word(word)


@functools.lru_cache(maxsize=None)
def _token_stem(token: str) -> str:
    """The stem of a token as written, remembered."""
    return _word_stem(token)[1]


def stem(token: str) -> str:
    return _stem_word(normalize(token))


def stems_of(text: str) -> tuple[str, ...]:
    return tuple(stem(text[a:b]) for a, b in tokenize(text))


@dataclass(frozen=True)
class CompiledCode:
    id: str
    terms: dict            # stem -> rule text "term:<stem>"
    phrases: tuple         # ((stem, ...), rule text), longest first
    regex: tuple           # (compiled pattern, rule text)
    exclude: tuple         # ((stem, ...), ...)
    negation: str          # "flag" | "skip"


@dataclass(frozen=True)
class CompiledCodebook:
    version: str
    codes: tuple           # CompiledCode, in codebook order
    code_ids: frozenset = field(default_factory=frozenset)
    # what a segment can match, over all codes (:func:`index_codes`)
    index: dict = field(default_factory=dict)  # stem -> (((code pos, rule), ...) of terms,
    #                                                    ((code pos, stems, rule), ...) of
    #                                                    phrases starting with the stem)
    regex_codes: tuple = ()                    # positions of the codes with regexes
    regex_gate: object = None                  # all regexes as one RE2 (None: run each)


def index_codes(version: str, codes: tuple) -> CompiledCodebook:
    """The codebook with its indexes: per stem the codes whose terms are it and the
    phrases (and multi-word terms) that start with it, and one RE2 alternation of every
    regex, ``(?:p1)|(?:p2)|...``, compiled for UTF-8 bytes. The alternation matches a text
    exactly when one of the patterns matches somewhere in it, so a segment it does not
    match has no regex candidate. It is None when it does not compile (e.g. past RE2's
    memory budget); then every regex runs on every segment."""
    index: dict = {}
    for k, c in enumerate(codes):
        for st, rule in c.terms.items():
            index.setdefault(st, ([], []))[0].append((k, rule))
        for pst, rule in c.phrases:
            index.setdefault(pst[0], ([], []))[1].append((k, pst, rule))
    patterns = [rule[len("regex:"):] for c in codes for _, rule in c.regex]
    gate = None
    if patterns:
        import re2
        options = re2.Options()
        options.case_sensitive = False     # as limits.compile_pattern
        options.log_errors = False
        try:
            gate = re2.compile("|".join(f"(?:{p})" for p in patterns).encode("utf-8"), options)
        except (re2.error, TypeError, ValueError):
            gate = None
    return CompiledCodebook(version, tuple(codes), frozenset(c.id for c in codes),
                            {st: (tuple(t), tuple(ph)) for st, (t, ph) in index.items()},
                            tuple(k for k, c in enumerate(codes) if c.regex), gate)


def compile_codebook(codebook: dict) -> CompiledCodebook:
    """Compile a codebook dict (already schema-valid) into matchers, once.

    Raises :class:`InputError` naming the code for a regex that does not compile, a
    term or phrase with no word in it, or an unknown ``negation`` mode.
    """
    compiled = []
    for code in codebook.get("codes", []):
        cid = code["id"]
        pats = code.get("patterns") or {}
        terms: dict[str, str] = {}
        phrases: list[tuple[tuple[str, ...], str]] = []
        for term in pats.get("terms") or []:
            st = stems_of(str(term))
            if not st:
                raise InputError(f"codebook: code {cid}: term {term!r} has no word in it; "
                                 "remove it or write a word")
            if len(st) == 1:
                terms.setdefault(st[0], f"term:{st[0]}")
            else:  # e.g. "side-effect": several tokens, match as a phrase
                phrases.append((st, f"phrase:{term}"))
        for phrase in pats.get("phrases") or []:
            st = stems_of(str(phrase))
            if not st:
                raise InputError(f"codebook: code {cid}: phrase {phrase!r} has no word in it")
            phrases.append((st, f"phrase:{phrase}"))
        regexes = []
        for pattern in pats.get("regex") or []:
            rx = limits.compile_pattern(str(pattern), f"codebook: code {cid}")  # RE2: linear
            regexes.append((rx, f"regex:{pattern}"))
        exclude = []
        for phrase in pats.get("exclude") or []:
            st = stems_of(str(phrase))
            if not st:
                raise InputError(f"codebook: code {cid}: exclude phrase {phrase!r} has no word")
            exclude.append(st)
        negation = pats.get("negation", "flag")
        if negation not in ("flag", "skip"):
            raise InputError(f"codebook: code {cid}: negation must be 'flag' or 'skip', "
                             f"not {negation!r}")
        phrases.sort(key=lambda p: -len(p[0]))
        compiled.append(CompiledCode(cid, terms, tuple(phrases), tuple(regexes),
                                     tuple(exclude), negation))
    ids = [c.id for c in compiled]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(f"codebook: duplicate code id(s) {', '.join(dupes)}; ids must be unique")
    return index_codes(str(codebook.get("version", "")), tuple(compiled))


def _find_runs(seq: tuple, pattern: tuple) -> list[int]:
    n, m = len(seq), len(pattern)
    if m and pattern[0] not in seq:        # the usual case, decided in C
        return []
    return [i for i in range(n - m + 1) if seq[i:i + m] == pattern]


def _negated(text: str, spans: list[tuple[int, int]], words: list[str], first: int,
             window: int, cues: frozenset) -> bool:
    """Is there a cue among the ``window`` tokens before token ``first``?"""
    boundary = spans[first][0] if first < len(spans) else len(text)
    for j in range(first - 1, max(first - 1 - window, -1), -1):
        if _CLAUSE_BREAK.search(text, spans[j][1], boundary):
            return False
        if words[j] in cues:
            return True
        boundary = spans[j][0]
    return False


def match_segment(text: str, compiled: CompiledCodebook, window: int,
                  cues: frozenset) -> list[tuple[str, str, str, bool]]:
    """All codes of one segment: ``[(code, evidence, rule, negated)]`` in codebook order.

    Candidates are found through the codebook's indexes (:func:`index_codes`): one pass
    over the tokens for the terms and phrases of every code, the regexes only when
    their alternation matches the segment; only codes with a candidate go on to the
    exclude phrases and negation."""
    parts = _TOKEN_SPLIT.split(text)        # gap, token, gap, token, ..., gap
    tokens = parts[1::2]
    stems = tuple(map(_token_stem, tokens))
    found = list(map(compiled.index.get, stems))
    regex_hit = bool(compiled.regex_codes) and (
        compiled.regex_gate is None or compiled.regex_gate.search(text.encode("utf-8")) is not None)
    if not regex_hit and not any(found):
        return []                    # no term, phrase or regex of any code
    at = list(itertools.accumulate(map(len, parts)))
    spans = list(zip(at[0:-1:2], at[1::2]))
    words = [_word_stem(t)[0] for t in tokens]
    # per code position: candidates (char start, priority, char end, first token, rule)
    cands: dict[int, list] = {}
    for i in itertools.compress(range(len(found)), found):
        terms, phrases = found[i]
        for k, rule in terms:
            cands.setdefault(k, []).append((spans[i][0], 1, spans[i][1], i, rule))
        for k, pst, rule in phrases:
            j = i + len(pst)
            if stems[i:j] == pst:
                cands.setdefault(k, []).append((spans[i][0], 0, spans[j - 1][1], i, rule))
    if regex_hit:
        ends = [b for _, b in spans]
        for k in compiled.regex_codes:
            for rx, rule in compiled.codes[k].regex:
                for m in rx.finditer(text):
                    if m.end() == m.start():
                        continue
                    first = bisect.bisect_right(ends, m.start())   # first token ending after
                    cands.setdefault(k, []).append((m.start(), 2, m.end(), first, rule))
    out = []
    for k in sorted(cands):
        code = compiled.codes[k]
        vetoes = [(spans[i][0], spans[i + len(ex) - 1][1])
                  for ex in code.exclude for i in _find_runs(stems, ex)]
        chosen = None
        for start, _prio, end, first, rule in sorted(cands[k]):
            if any(start < ve and vs < end for vs, ve in vetoes):
                continue
            neg = _negated(text, spans, words, first, window, cues)
            if not neg:
                chosen = (text[start:end], rule, False)
                break
            if chosen is None and code.negation == "flag":
                chosen = (text[start:end], rule, True)
        if chosen is not None:
            out.append((code.id, *chosen))
    return out


def code_segments(segments: pd.DataFrame, compiled: CompiledCodebook,
                  moderator_id: str | None = None, window: int = 3, cues=(),
                  units=roles_mod.DEFAULT_UNIT_ROLES, code_roles: dict | None = None
                  ) -> pd.DataFrame:
    """Apply the automatic coder to the coding units of ``segments`` (their role is in
    ``units``; ``moderator_id`` is unused, kept for old callers); a code with roles
    (``code_roles``: code -> roles) is applied only to segments of those roles.

    Returns a DataFrame with :data:`MACHINE_COLUMNS` sorted by segment_id, code;
    ``negated`` is a bool.
    """
    cue_set = frozenset(normalize(str(c)) for c in cues)
    segments = roles_mod.with_roles(segments, moderator_id)
    code_roles = {c: set(r) for c, r in (code_roles or {}).items() if r}
    rows = []
    mask = roles_mod.is_unit(segments, units).to_numpy()
    part = segments[mask]
    part_roles = roles_mod.segment_roles(part)
    for seg_id, text, role in zip(part["segment_id"].tolist(), part["text"].tolist(),
                                  part_roles.tolist()):
        for code, evidence, rule, neg in match_segment(str(text), compiled, int(window), cue_set):
            if code in code_roles and role not in code_roles[code]:
                continue
            rows.append((seg_id, code, evidence, rule, neg))
    df = pd.DataFrame(rows, columns=MACHINE_COLUMNS)
    df["negated"] = df["negated"].astype(bool)
    return df.sort_values(["segment_id", "code"], kind="mergesort").reset_index(drop=True)


def read_codebook(path: str | Path) -> dict:
    """The codebook as a dict: ``studyconfig.load_codebook`` when available (schema +
    semantic checks), else plain ``yaml.safe_load`` (the workflow validates it at
    start-up in ``common.smk`` anyway)."""
    schema = Path(__file__).resolve().parents[2] / "schemas" / "codebook.schema.yaml"
    try:
        from concord.studyconfig import load_codebook
    except ImportError:
        load_codebook = None
    if load_codebook is not None and schema.exists():
        return load_codebook(path, schema)
    import yaml
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# --------------------------------------------------------------------------- combine

NOT_APPLICABLE = frozenset({"n/a", "na", "n.a.", "not applicable", "not_applicable", "-",
                            "--", "nan", "null", "none", "\u2014", "\u2013"})


def is_not_applicable(value) -> bool:
    """An "n/a"-style cell of a coder file (n/a, NA, not applicable, -, —)."""
    return str(value).strip().casefold() in NOT_APPLICABLE


def _segment_index(segments: pd.DataFrame, units=roles_mod.DEFAULT_UNIT_ROLES) -> dict:
    """segment_id -> (session_id, role, is a coding unit)."""
    role = roles_mod.segment_roles(segments)
    unit = role.isin(list(units))
    return dict(zip(segments["segment_id"], zip(segments["session_id"], role, unit)))


def check_coder_file(df: pd.DataFrame, path: str, coder: str, sessions: set,
                     seg_index: dict, codes: frozenset | set, code_roles: dict | None = None,
                     units=roles_mod.DEFAULT_UNIT_ROLES, not_applicable: list | None = None
                     ) -> tuple[pd.DataFrame, list[str]]:
    """Check one human coder file (already read with ``read_tsv``).

    ``sessions`` are the sessions coders.tsv assigns to this file for ``coder``.
    A segment must be a coding unit (role in ``units``) and a code with roles
    (``code_roles``) must apply to the segment's role. A row whose ``code`` is an
    "n/a"-style value (:func:`is_not_applicable`) says the coder judged the segment
    not codable: appended to ``not_applicable`` as ``(segment_id, coder)`` (missing
    for agreement, not absent). Rows with a ``value`` column of "n/a" style likewise
    mark ``(segment_id, coder, code)`` not applicable, and a value of 0/no/false/empty
    means the code was not applied (the row is skipped).
    Every problem raises :class:`InputError` naming the file, the line (header = line 1)
    and the fix; duplicate rows are dropped with a warning (returned) naming both lines.
    """
    problems = []
    seen: dict[tuple[str, str], int] = {}
    warnings = []
    keep = []
    code_roles = {c: set(r) for c, r in (code_roles or {}).items() if r}
    values = df["value"] if "value" in df.columns else [""] * len(df)
    for i, (seg, code, value) in enumerate(zip(df["segment_id"], df["code"], values)):
        line = i + 2
        where = f"{path}, line {line}"
        value = str(value).strip().casefold()
        if value and value in ("0", "no", "false", "absent"):
            continue
        na = is_not_applicable(code) or (bool(value) and is_not_applicable(value))
        info = seg_index.get(seg)
        if info is None:
            problems.append(f"{where}: segment_id {seg!r} is not a segment of any session; "
                            "use an ID from results/segments/<session>.tsv (the coder must code "
                            "the current segmentation)")
            continue
        seg_session, role, is_unit = info
        if seg_session not in sessions:
            problems.append(f"{where}: segment {seg} belongs to session {seg_session}, but "
                            f"coders.tsv lists this file for coder {coder} for session(s) "
                            f"{', '.join(sorted(sessions))}; fix the row or add a coders.tsv row "
                            f"for {coder} and {seg_session}")
            continue
        if not is_unit:
            problems.append(f"{where}: segment {seg} is a {role} turn; only segments of the "
                            f"role(s) {', '.join(units)} are coded (config code.roles) -- "
                            "delete this row or add the role to code.roles")
            continue
        if na:
            if not_applicable is not None:
                not_applicable.append((seg, coder, "*" if is_not_applicable(code) else code))
            continue
        if code not in codes:
            problems.append(f"{where}: code {code!r} is not in the codebook; use one of "
                            f"{', '.join(sorted(codes))} or add it to the codebook")
            continue
        if code in code_roles and role not in code_roles[code]:
            problems.append(f"{where}: code {code} applies to {', '.join(sorted(code_roles[code]))} "
                            f"segments (codebook roles); segment {seg} is a {role} turn -- "
                            "delete this row or add the role to the code's roles")
            continue
        key = (seg, code)
        if key in seen:
            warnings.append(f"{where}: duplicate of line {seen[key]} ({seg}, {code}); "
                            "counted once")
            continue
        seen[key] = line
        keep.append(key)
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise InputError("; ".join(problems[:10]) + more)
    out = pd.DataFrame(keep, columns=["segment_id", "code"])
    out.insert(1, "coder", coder)
    return out, warnings


def combine_codings(machine: pd.DataFrame, segments: pd.DataFrame, coder_sheet: pd.DataFrame,
                    coder_tables: dict, codes, moderator_id: str | None = None,
                    sessions: list[str] | None = None, min_overlap: float = 0.5,
                    consensus: str = "majority", adjudicator: str | None = None,
                    units=roles_mod.DEFAULT_UNIT_ROLES, code_roles: dict | None = None,
                    not_applicable: list | None = None):
    """Combine machine, human and consensus codings.

    ``coder_tables`` maps each path in ``coder_sheet`` to its DataFrame: by segment
    (``segment_id``, ``code``) or by character span (``session_id``, ``start``,
    ``end``, ``code``; mapped with :func:`spans_to_segments` and ``min_overlap``,
    which needs ``start``/``end``/``speaker_id`` in ``segments``). ``consensus``:
    ``majority`` or ``adjudicator`` (see :func:`adjudicate`). Returns ``(codings, coverage, warnings)``: codings has columns
    segment_id, coder, code (coders ``machine``, each human coder, ``consensus``);
    coverage has coder, session_id. The consensus for a session holds a code for a
    segment when strictly more than half of that session's human coders applied it;
    it covers only sessions with at least one human coder (a warning names the others).
    Coding units are the segments of the roles ``units`` (``moderator_id`` is unused);
    ``code_roles`` limits codes to roles; "n/a" rows of the coders' files are appended
    to ``not_applicable`` as ``(segment_id, coder, code or "*")``.
    """
    codes = frozenset(codes)
    segments = roles_mod.with_roles(segments, moderator_id)
    sessions = sorted(sessions) if sessions is not None else sorted(set(segments["session_id"]))
    seg_index = _segment_index(segments, units)
    warnings: list[str] = []

    bad = coder_sheet[coder_sheet["coder"].isin(RESERVED_CODERS)]
    if len(bad):
        raise InputError(f"coders.tsv, line {bad.index[0] + 2}: coder name "
                         f"{bad['coder'].iloc[0]!r} is reserved; rename the coder")
    dup = coder_sheet.duplicated(["coder", "session_id"], keep=False)
    if dup.any():
        lines = [str(i + 2) for i in coder_sheet.index[dup]]
        raise InputError(f"coders.tsv, lines {', '.join(lines)}: the same coder and session "
                         "appear more than once; keep one row per coder per session")
    unknown = sorted(set(coder_sheet["session_id"]) - set(sessions))
    if unknown:
        raise InputError(f"coders.tsv: session(s) {', '.join(unknown)} are not in the study's "
                         "sessions; fix the session_id")

    parts = [machine[["segment_id", "code"]].assign(coder="machine")]
    for (coder, path), grp in coder_sheet.groupby(["coder", "path"], sort=True):
        df = coder_tables[path]
        if "segment_id" not in df.columns and {"start", "end", "session_id"} <= set(df.columns):
            df = spans_to_segments(df, segments, path, min_overlap, codes=codes, units=units)
        rows, warns = check_coder_file(df, path, coder, set(grp["session_id"]), seg_index, codes,
                                       code_roles, units, not_applicable)
        warnings += warns
        parts.append(rows)
    human = pd.concat(parts[1:], ignore_index=True) if len(parts) > 1 else \
        pd.DataFrame(columns=["segment_id", "coder", "code"])
    # the same coder could name a segment in two files of the same session: dedupe
    human = human.drop_duplicates(["segment_id", "coder", "code"])

    n_coders = coder_sheet.groupby("session_id")["coder"].nunique().to_dict()
    human = human.assign(session_id=human["segment_id"].map(lambda s: seg_index[s][0]))
    coder_sessions = {c: set(g["session_id"]) for c, g in coder_sheet.groupby("coder")}
    if consensus != "majority" and adjudicator not in coder_sessions:
        raise InputError(f"config code.consensus.adjudicator: {adjudicator!r} is not a coder "
                         f"in coders.tsv; name one of {', '.join(sorted(coder_sessions))}")
    agreed, warns = adjudicate(human, n_coders, consensus, adjudicator, coder_sessions)
    warnings += warns
    consensus = agreed.assign(coder="consensus")

    codings = pd.concat([parts[0], human[["segment_id", "coder", "code"]], consensus],
                        ignore_index=True)[["segment_id", "coder", "code"]]
    codings = codings.sort_values(["segment_id", "coder", "code"], kind="mergesort")
    codings = codings.reset_index(drop=True)

    cov = [("machine", s) for s in sessions]
    cov += [(c, s) for c, s in zip(coder_sheet["coder"], coder_sheet["session_id"])]
    uncovered = [s for s in sessions if not n_coders.get(s)]
    if uncovered:
        warnings.append(f"session(s) {', '.join(uncovered)} have no human coder: no consensus "
                        "coding for them (add coders.tsv rows to include them)")
    cov += [("consensus", s) for s in sessions if n_coders.get(s)]
    coverage = pd.DataFrame(cov, columns=["coder", "session_id"])
    coverage = coverage.sort_values(["coder", "session_id"], kind="mergesort").reset_index(drop=True)
    return codings, coverage, warnings


# --------------------------------------------------------------------------- spans

def spans_to_segments(spans: pd.DataFrame, segments: pd.DataFrame, path: str,
                      min_overlap: float, moderator_id: str | None = None,
                      codes=None, units=roles_mod.DEFAULT_UNIT_ROLES) -> pd.DataFrame:
    """Map a coder's character spans to segments by overlap.

    ``spans``: ``session_id``, ``start``, ``end``, ``code`` (offsets into the
    de-identified text ``results/deid/<session>.txt``, end exclusive, as REFI-QDA
    ``PlainTextSelection`` positions). A participant segment ``[s, e)`` receives the
    code when the overlap ``o = min(end, e) - max(start, s)`` satisfies
    ``o >= min_overlap * min(e - s, end - start)``: a short highlight inside a
    segment codes it; a long one codes each segment it covers for at least
    ``min_overlap`` of the segment. A span that codes no participant segment, a
    non-integer or reversed span, or an unknown session is an :class:`InputError`
    naming ``path`` and the line. Returns ``segment_id``, ``code`` (one row per
    segment and code, first span order).
    """
    if not 0 < float(min_overlap) <= 1:
        raise InputError(f"config code.min_overlap: {min_overlap} must be in (0, 1]")
    segments = roles_mod.with_roles(segments, moderator_id)
    part = segments[roles_mod.is_unit(segments, units).to_numpy()]
    by_session = {s: (g["segment_id"].to_numpy(), g["start"].astype(int).to_numpy(),
                      g["end"].astype(int).to_numpy())
                  for s, g in part.groupby("session_id", sort=True)}
    known = set(segments["session_id"])
    rows, problems = [], []
    for i, r in enumerate(spans.itertuples(index=False)):
        where = f"{path}, line {i + 2}"
        try:
            a, b = int(str(r.start)), int(str(r.end))
        except ValueError:
            problems.append(f"{where}: start/end must be integers (character offsets in the "
                            f"de-identified text), got {r.start!r}, {r.end!r}")
            continue
        if not 0 <= a < b:
            problems.append(f"{where}: span {a}-{b} is empty or reversed; need 0 <= start < end")
            continue
        if codes is not None and r.code not in codes and not is_not_applicable(r.code):
            problems.append(f"{where}: code {r.code!r} is not in the codebook; use one of "
                            f"{', '.join(sorted(codes))} or add it to the codebook")
            continue
        if r.session_id not in known:
            problems.append(f"{where}: session {r.session_id!r} has no segments; use a "
                            f"session_id of the study")
            continue
        ids, s, e = by_session.get(r.session_id, ((), (), ()))
        hit = []
        for sid, ss, ee in zip(ids, s, e):
            o = min(b, ee) - max(a, ss)
            if o > 0 and o >= float(min_overlap) * min(ee - ss, b - a):
                hit.append(sid)
        if not hit:
            problems.append(f"{where}: span {a}-{b} of session {r.session_id} covers no "
                            f"coding unit by at least {min_overlap} (a facilitator's text "
                            f"or past the end?); check the offsets against "
                            f"results/deid/{r.session_id}.txt")
            continue
        rows += [(sid, r.code) for sid in hit]
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise InputError("; ".join(problems[:10]) + more)
    out = pd.DataFrame(rows, columns=["segment_id", "code"])
    return out.drop_duplicates().reset_index(drop=True)


def adjudicate(human: pd.DataFrame, n_coders: dict, method: str = "majority",
               adjudicator: str | None = None, coder_sessions: dict | None = None):
    """Consensus codings from human codings (``session_id``, ``segment_id``,
    ``coder``, ``code``).

    ``majority``: a code holds when strictly more than half of the session's human
    coders applied it. ``adjudicator``: where the other coders of the session are
    unanimous (all applied / none applied) their decision holds; where they disagree,
    the adjudicator's decision holds. In sessions the adjudicator did not code the
    majority rule applies (returned as a warning). Returns ``(consensus, warnings)``.
    """
    warnings = []
    if method == "majority":
        counts = human.groupby(["session_id", "segment_id", "code"]).size().reset_index(name="n")
        counts["need"] = counts["session_id"].map(n_coders)
        return counts[counts["n"] > counts["need"] / 2][["segment_id", "code"]], warnings
    if method != "adjudicator" or not adjudicator:
        raise InputError(f"config code.consensus: method {method!r} needs to be 'majority' or "
                         f"'adjudicator' (with code.consensus.adjudicator: a coder name)")
    coder_sessions = coder_sessions or {}
    adj_sessions = coder_sessions.get(adjudicator, set())
    if not adj_sessions:
        raise InputError(f"config code.consensus.adjudicator: {adjudicator!r} codes no session "
                         f"in coders.tsv; name one of {', '.join(sorted(coder_sessions))}")
    missing = sorted(set(n_coders) - set(adj_sessions))
    if missing:
        warnings.append(f"adjudicator {adjudicator} did not code session(s) "
                        f"{', '.join(missing)}: majority consensus there")
    maj, _ = adjudicate(human[human["session_id"].isin(missing)], n_coders)
    h = human[human["session_id"].isin(adj_sessions)]
    others = h[h["coder"] != adjudicator]
    n_other = {s: n_coders[s] - 1 for s in adj_sessions}
    cnt = others.groupby(["session_id", "segment_id", "code"]).size().reset_index(name="n")
    cnt["k"] = cnt["session_id"].map(n_other)
    unanimous = cnt[(cnt["n"] == cnt["k"]) & (cnt["k"] > 0)]
    adj = h[h["coder"] == adjudicator][["session_id", "segment_id", "code"]]
    # the adjudicator decides the rest: codes they applied unless the others were
    # unanimously against (then n == 0 -> no row in cnt; adjudicator still decides
    # only when the others disagree, i.e. 0 < n < k)
    split = cnt[(cnt["n"] < cnt["k"])][["session_id", "segment_id", "code"]]
    adj_on_split = adj.merge(split, on=["session_id", "segment_id", "code"])
    # with no other coder in a session (k == 0) the adjudicator alone decides
    alone = adj[adj["session_id"].map(n_other) == 0]
    out = pd.concat([maj, unanimous[["segment_id", "code"]],
                     adj_on_split[["segment_id", "code"]], alone[["segment_id", "code"]]],
                    ignore_index=True).drop_duplicates()
    return out, warnings


# --------------------------------------------------------------------------- evaluation

EVALUATION_COLUMNS = ["code", "units", "consensus", "machine", "true_positive",
                      "false_positive", "false_negative", "precision", "recall", "f1"]


def evaluate_machine(codings: pd.DataFrame, coverage: pd.DataFrame, segments: pd.DataFrame,
                     codes: list[str], moderator_id: str | None = None,
                     reference: str = "consensus", units=roles_mod.DEFAULT_UNIT_ROLES,
                     code_roles: dict | None = None) -> pd.DataFrame:
    """Precision, recall and F1 of the ``machine`` coder against ``reference``.

    Units: coding units (roles ``units``) of the sessions ``reference`` covers
    (coverage.tsv); for a code with roles (``code_roles``) only the units of its roles
    (``units`` column per code).
    One row per code (codebook order), then ``overall`` (micro: counts pooled over
    codes) and ``macro`` (unweighted mean of the per-code precision, recall and F1
    that are defined). Precision is undefined (NaN) when the machine applied a code
    nowhere, recall when the reference did, F1 when both are.
    """
    ref_sessions = set(coverage.loc[coverage["coder"] == reference, "session_id"])
    segments = roles_mod.with_roles(segments, moderator_id)
    in_ref = segments["session_id"].isin(ref_sessions).to_numpy()
    unit_roles, code_roles = units, code_roles or {}
    units = set(segments.loc[roles_mod.is_unit(segments, unit_roles).to_numpy() & in_ref,
                             "segment_id"])
    n_units = {code: len(units) if not code_roles.get(code) else int(
        (roles_mod.applicable(segments, tuple(code_roles[code]), unit_roles) & in_ref).sum())
        for code in codes}
    c = codings[codings["segment_id"].isin(units)]
    pairs = {who: set(zip(g["segment_id"], g["code"])) for who, g in c.groupby("coder")}
    mach, ref = pairs.get("machine", set()), pairs.get(reference, set())

    def row(name, tp, fp, fn, n_ref, n_mach, n=len(units)):
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
        return [name, n, n_ref, n_mach, tp, fp, fn, p, r, f]

    rows = []
    for code in codes:
        m = {s for s, k in mach if k == code}
        g = {s for s, k in ref if k == code}
        rows.append(row(code, len(m & g), len(m - g), len(g - m), len(g), len(m),
                        n_units[code]))
    df = pd.DataFrame(rows, columns=EVALUATION_COLUMNS)
    tp, fp, fn = (int(df[k].sum()) for k in ("true_positive", "false_positive",
                                              "false_negative"))
    overall = row("overall", tp, fp, fn, int(df["consensus"].sum()), int(df["machine"].sum()))
    macro = ["macro", len(units), overall[2], overall[3], tp, fp, fn,
             df["precision"].mean(), df["recall"].mean(), df["f1"].mean()]
    return pd.concat([df, pd.DataFrame([overall, macro], columns=EVALUATION_COLUMNS)],
                     ignore_index=True)
