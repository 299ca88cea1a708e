"""REFI-QDA interchange: the codebook as QDC, a project as QDPX (pure functions).

REFI-QDA (www.qdasoftware.org) is the exchange standard of NVivo, ATLAS.ti, MAXQDA
and QualCoder. Two files:

QDC (``urn:QDA-XML:codebook:1.0``)
    ``CodeBook/Codes/Code`` (``guid``, ``name``, ``isCodable``, nested ``Code`` for
    the hierarchy) with a ``Description``; ``Sets/Set`` (one per codebook category,
    ``MemberCode`` guids). Concord writes the description as the definition,
    followed by ``Include:``, ``Exclude:``, ``Example:`` lines and a last line
    ``Concord code ID: HOPE`` -- :func:`qdc_to_codebook` parses them back, so a round
    trip keeps ids, names, definitions, criteria, examples, categories, hierarchy
    and GUIDs. A code created in another program (no ID line) gets an id from its
    name (upper case, non-alphanumerics -> ``_``). Automatic-coder ``patterns`` are
    Concord's own and are not exported.
QDPX (a ZIP: ``project.qde`` in ``urn:QDA-XML:project:1.0`` + ``sources/``)
    one ``TextSource`` per session whose plain text is the de-identified transcript
    (``sources/<guid>.txt``), the codebook, one ``User`` per coder, and per coder and
    segment a ``PlainTextSelection`` (``startPosition``/``endPosition`` = the
    segment's offsets: Unicode code points, end exclusive, as Python ``str``
    indices) holding one ``Coding``/``CodeRef`` per code. Import reads every
    ``PlainTextSelection`` back as a span ``session_id, start, end, code, coder``,
    which :func:`concord.code.spans_to_segments` maps to segments by overlap.

Import survives real exports (ATLAS.ti, MAXQDA, NVivo, QualCoder, Taguette):

* the archive's members are found whatever their case (ATLAS.ti writes
  ``Project.qde`` and ``Sources/``); the codebook namespace may be 1.0 or the
  pre-release ``0:4``;
* source paths: ``internal://X`` is ``sources/X`` in the archive; ``relative://``
  and ``absolute://`` point outside it (the media the project was made from) and
  are never read -- like a missing internal file, each such source is reported one
  by one (:attr:`QdpxImport.problems`, by element and GUID, never by file name) and
  everything importable still comes in: codes, users and every text coding, whose
  positions need only the source's name;
* codings on non-text sources (picture, PDF, audio, video selections) are reported
  and not imported; a coding whose code is not in the codebook, or whose positions
  are not integers, is reported too (and stops :func:`read_qdpx_codings`);
* CRLF versus LF: when a source's text has CRLF line ends, the selections' offsets
  are checked against the quoted text many tools store in the selection's ``name``
  (ATLAS.ti, MAXQDA): counted with CRLF as two characters or as one; the convention
  that matches is used (CRLF, the standard's reading, when nothing tells) and the
  offsets are converted to the LF text Concord works on (:attr:`QdpxImport.notes`);
* users become coders (the coder of a coding is its creating user's ``name``);
  the code hierarchy (nested ``Code`` elements, and ATLAS.ti's ``Group::code`` /
  Taguette's ``group\\code`` names when the parent code exists), colours
  (``color``) and descriptions are kept.

Errors name the archive member and the element (``project.qdpx: member
Project.qde, <Coding> #3 (guid ...)``), and for XML that is not well-formed the
elements still open where it breaks (a truncated export).

GUIDs are deterministic: ``uuid5(NAMESPACE_URL, "concord:<study>:<kind>:<key>")``,
so re-exporting gives the same bytes (ZIP entries sorted, fixed timestamps, no
creation dates). What is written can be checked against the REFI-QDA XML schemas
(:func:`validate`, ``workflow/schemas/refi-qda/``).
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from lxml import etree

from concord import limits
from concord.tsvio import InputError

NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK_OLD = "urn:QDA-XML:codebook:0:4"  # ATLAS.ti's pre-release namespace
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "refi-qda"
ID_LINE = "Concord code ID: "
SPAN_COLUMNS = ["session_id", "start", "end", "code", "coder"]
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def guid(study: str, kind: str, key: str) -> str:
    """Deterministic GUID of a code, source, user, selection or coding."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"concord:{study}:{kind}:{key}"))


def _description(code: dict) -> str:
    parts = [str(code.get("definition", "")).strip()]
    if code.get("include"):
        parts.append(f"Include: {str(code['include']).strip()}")
    if code.get("exclude"):
        parts.append(f"Exclude: {str(code['exclude']).strip()}")
    for ex in code.get("examples") or []:
        parts.append(f"Example: {str(ex).strip()}")
    parts.append(f"{ID_LINE}{code['id']}")
    return "\n".join(parts)


def _parse_description(text: str) -> dict:
    out = {"definition": [], "examples": []}
    for line in (text or "").split("\n"):
        if line.startswith(ID_LINE):
            out["id"] = line[len(ID_LINE):].strip()
        elif line.startswith("Include: "):
            out["include"] = line[9:]
        elif line.startswith("Exclude: "):
            out["exclude"] = line[9:]
        elif line.startswith("Example: "):
            out["examples"].append(line[9:])
        else:
            out["definition"].append(line)
    out["definition"] = "\n".join(out["definition"]).strip()
    return out


def _codes_tree(codebook: dict) -> list[tuple[dict, list]]:
    codes = codebook.get("codes", [])
    children: dict = {}
    for c in codes:
        children.setdefault(c.get("parent") or None, []).append(c)

    def build(parent):
        return [(c, build(c["id"])) for c in children.get(parent, [])]
    return build(None)


def _add_codes(parent_el, tree, study, ns):
    for code, kids in tree:
        el = etree.SubElement(parent_el, f"{{{ns}}}Code", guid=guid(study, "code", code["id"]),
                              name=str(code.get("name", code["id"])), isCodable="true")
        if re.fullmatch(r"#[0-9A-Fa-f]{6}", str(code.get("color", ""))):
            el.set("color", code["color"].upper())
        etree.SubElement(el, f"{{{ns}}}Description").text = _description(code)
        _add_codes(el, kids, study, ns)


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def codebook_to_qdc(codebook: dict, study: str) -> bytes:
    """The codebook as a QDC document (bytes)."""
    ns = NS_CODEBOOK
    root = etree.Element(f"{{{ns}}}CodeBook", nsmap={None: ns},
                         origin=f"Concord (codebook version {codebook.get('version', '')})")
    codes_el = etree.SubElement(root, f"{{{ns}}}Codes")
    _add_codes(codes_el, _codes_tree(codebook), study, ns)
    cats = [c for c in codebook.get("categories", [])
            if any(code.get("category") == c for code in codebook.get("codes", []))]
    if cats:
        sets = etree.SubElement(root, f"{{{ns}}}Sets")
        for cat in cats:
            s = etree.SubElement(sets, f"{{{ns}}}Set", guid=guid(study, "category", cat),
                                 name=cat)
            for code in codebook["codes"]:
                if code.get("category") == cat:
                    etree.SubElement(s, f"{{{ns}}}MemberCode",
                                     guid=guid(study, "code", code["id"]))
    return _xml(root)


def _id_from_name(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    return s if s and s[0].isalpha() else f"C_{s}"


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else str(el.tag)


def _where(el, index: int | None = None) -> str:
    """An element named for messages: tag, position, GUID (never a name attribute:
    source names are often file names with people's names in them)."""
    where = f"<{_local(el)}>"
    if index is not None:
        where += f" #{index}"
    if el.get("guid"):
        where += f" (guid {el.get('guid')})"
    return where


def _read_codes(codes_el, ns, source) -> list[dict]:
    out = []
    n = 0

    def walk(el, parent):
        nonlocal n
        for c in el.findall(f"{{{ns}}}Code"):
            n += 1
            desc_el = c.find(f"{{{ns}}}Description")
            d = _parse_description(desc_el.text if desc_el is not None else "")
            name = c.get("name")
            if not c.get("guid") or name is None:
                raise InputError(f"{source}, {_where(c, n)}: a Code needs a guid and a name; "
                                 f"fix the export")
            code = {"id": d.get("id") or _id_from_name(name), "name": name,
                    "parent": parent, "definition": d["definition"], "guid": c.get("guid")}
            if c.get("color"):
                code["color"] = c.get("color")
            if c.get("isCodable") == "false":
                code["codable"] = False
            for k in ("include", "exclude"):
                if k in d:
                    code[k] = d[k]
            if d["examples"]:
                code["examples"] = d["examples"]
            out.append(code)
            walk(c, code["id"])
    walk(codes_el, None)
    # ATLAS.ti 'Group::code' and Taguette 'group\\code' names: the parent by name
    by_name = {c["name"]: c["id"] for c in out}
    for c in out:
        if c["parent"] is None:
            for sep in ("::", "\\"):
                head = c["name"].rsplit(sep, 1)[0] if sep in c["name"] else None
                if head is not None and head in by_name and by_name[head] != c["id"]:
                    c["parent"] = by_name[head]
                    break
    ids = [c["id"] for c in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(f"{source}: code id(s) {', '.join(dup)} occur more than once; rename "
                         f"the codes so that their ids (or names) are unique")
    return out


def _parse_xml(data: bytes, source: str):
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True,
                                                      huge_tree=False))
    except etree.XMLSyntaxError as exc:
        open_els = _open_elements(data)
        inside = (f"; it breaks inside {'/'.join(f'<{e}>' for e in open_els)}"
                  if open_els else "")
        raise InputError(f"{source}: not well-formed XML at line {exc.lineno} ({exc.msg})"
                         f"{inside} -- the file is truncated or damaged; export it again"
                         ) from None


def _open_elements(data: bytes) -> list[str]:
    """Local names of the elements still open where ``data`` stops being XML."""
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False,
                                 no_network=True)
    stack: list[str] = []
    try:
        parser.feed(data)
        parser.close()
    except etree.XMLSyntaxError:
        pass
    try:
        for event, el in parser.read_events():
            if event == "start":
                stack.append(_local(el))
            elif stack:
                stack.pop()
    except etree.XMLSyntaxError:
        pass
    return stack


def qdc_to_codebook(data: bytes, source: str = "codebook.qdc") -> dict:
    """A QDC document -> ``{"categories": [...], "codes": [...]}`` (each code with
    id, name, parent, definition, include/exclude/examples when present, guid and
    category from the Sets)."""
    root = _parse_xml(data, source)
    ns = etree.QName(root).namespace
    if _local(root) != "CodeBook" or ns not in (NS_CODEBOOK, NS_CODEBOOK_OLD):
        raise InputError(f"{source}: the root element is {root.tag}, expected <CodeBook> in "
                         f"namespace {NS_CODEBOOK}; is this a REFI-QDA codebook (.qdc)?")
    codes_el = root.find(f"{{{ns}}}Codes")
    if codes_el is None:
        raise InputError(f"{source}, <CodeBook>: no <Codes> element; export the codebook "
                         f"again")
    codes = _read_codes(codes_el, ns, source)
    by_guid = {c["guid"]: c for c in codes}
    categories = []
    for s in root.findall(f"{{{ns}}}Sets/{{{ns}}}Set"):
        categories.append(s.get("name"))
        for m in s.findall(f"{{{ns}}}MemberCode"):
            if m.get("guid") in by_guid:
                by_guid[m.get("guid")]["category"] = s.get("name")
    return {"categories": categories, "codes": codes}


# ---------------------------------------------------------------- projects

def project_to_qdpx(study: str, title: str, codebook: dict, texts: dict,
                    segments: pd.DataFrame, codings: pd.DataFrame,
                    coders: list[str] | None = None) -> bytes:
    """A QDPX archive (bytes).

    ``texts``: session_id -> de-identified text; ``segments``: segment_id,
    session_id, start, end; ``codings``: segment_id, coder, code (e.g.
    ``results/coding/codings.tsv``); ``coders``: which coders to include (default
    all in ``codings``).
    """
    ns = NS_PROJECT
    coders = sorted(set(codings["coder"])) if coders is None else sorted(coders)
    root = etree.Element(f"{{{ns}}}Project", nsmap={None: ns}, name=title, origin="Concord")
    users = etree.SubElement(root, f"{{{ns}}}Users")
    for c in coders:
        etree.SubElement(users, f"{{{ns}}}User", guid=guid(study, "user", c), name=c, id=c)
    cb = etree.SubElement(root, f"{{{ns}}}CodeBook")
    _add_codes(etree.SubElement(cb, f"{{{ns}}}Codes"), _codes_tree(codebook), study, ns)
    sources = etree.SubElement(root, f"{{{ns}}}Sources")
    seg = segments.set_index("segment_id")
    c = codings[codings["coder"].isin(coders)]
    unknown = sorted(set(c["segment_id"]) - set(seg.index))
    if unknown:
        raise InputError(f"codings name segment(s) not in the segments: {', '.join(unknown[:5])}")
    c = c.assign(session_id=c["segment_id"].map(seg["session_id"]))
    files = {}
    for session in sorted(texts):
        sg = guid(study, "source", session)
        src = etree.SubElement(sources, f"{{{ns}}}TextSource", guid=sg, name=session,
                               plainTextPath=f"internal://{sg}.txt")
        # the text the codings' offsets refer to (checked on import: concord/stages.py)
        etree.SubElement(src, f"{{{ns}}}Description").text = (
            "Concord de-identified text, SHA-256 "
            + hashlib.sha256(texts[session].encode("utf-8")).hexdigest())
        files[f"sources/{sg}.txt"] = texts[session].encode("utf-8")
        cs = c[c["session_id"] == session].sort_values(["segment_id", "coder", "code"])
        for (segment_id, coder), g in cs.groupby(["segment_id", "coder"], sort=True):
            start, end = int(seg.loc[segment_id, "start"]), int(seg.loc[segment_id, "end"])
            sel = etree.SubElement(src, f"{{{ns}}}PlainTextSelection",
                                   guid=guid(study, "selection", f"{segment_id}:{coder}"),
                                   name=segment_id, startPosition=str(start),
                                   endPosition=str(end), creatingUser=guid(study, "user", coder))
            for code in g["code"]:
                cod = etree.SubElement(sel, f"{{{ns}}}Coding",
                                       guid=guid(study, "coding", f"{segment_id}:{coder}:{code}"),
                                       creatingUser=guid(study, "user", coder))
                etree.SubElement(cod, f"{{{ns}}}CodeRef", targetGUID=guid(study, "code", code))
    files["project.qde"] = _xml(root)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    return buf.getvalue()


@dataclass
class QdpxImport:
    """What came in from a QDPX archive (:func:`import_qdpx`)."""
    codebook: dict                 # {"codes": [...]} as from :func:`qdc_to_codebook`
    texts: dict                    # source name -> plain text (LF line ends)
    spans: pd.DataFrame            # SPAN_COLUMNS, offsets into the LF text
    users: dict                    # user guid -> coder name
    problems: list = field(default_factory=list)  # (kind, message), one per problem
    notes: list = field(default_factory=list)     # conversions made (CRLF offsets ...)


_NON_TEXT_SELECTIONS = ("PictureSelection", "PDFSelection", "AudioSelection",
                        "VideoSelection", "TranscriptSelection")
_CODING_PROBLEMS = ("dangling_code", "bad_position")


def _member(zf: zipfile.ZipFile, name: str) -> str | None:
    """The archive member called ``name``, whatever the case of its letters."""
    want = name.casefold()
    return next((m for m in zf.namelist() if m.casefold() == want), None)


def _lf_offset_map(text: str):
    """``f(i)``: offset in ``text.replace('\\r\\n', '\\n')`` of CRLF-counted offset ``i``."""
    crs = [i for i, ch in enumerate(text) if ch == "\r" and text[i + 1:i + 2] == "\n"]

    def f(i: int) -> int:
        import bisect
        return i - bisect.bisect_left(crs, i)
    return f


def _offset_convention(text: str, selections: list[tuple[int, int, str]]) -> str:
    """``crlf`` or ``lf``: which count of line ends the selections' offsets use, judged
    by the quoted text in their names (a prefix; ATLAS.ti ends a long one with '…')."""
    lf = text.replace("\r\n", "\n")
    score = {"crlf": 0, "lf": 0}
    for a, b, name in selections:
        quote = (name or "").rstrip("…").strip()
        if len(quote) < 4:
            continue
        for conv, t in (("crlf", text), ("lf", lf)):
            got = " ".join(t[a:b].split())
            if got.startswith(" ".join(quote.split())[:60]):
                score[conv] += 1
    return "lf" if score["lf"] > score["crlf"] else "crlf"


def import_qdpx(path_or_bytes, source: str | None = None) -> QdpxImport:
    """A QDPX archive -> :class:`QdpxImport`. Only an archive that is not a ZIP, has no
    project member, or whose project is not REFI-QDA XML is an error; every other
    problem is reported in ``problems`` and the rest imported."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        data, source = bytes(path_or_bytes), source or "project.qdpx"
    else:
        source = source or str(path_or_bytes)
        data = Path(path_or_bytes).read_bytes()
    zf = limits.check_archive(data, source, "QDPX (REFI-QDA project)")  # sizes first
    qde_name = _member(zf, "project.qde")
    if qde_name is None:
        raise InputError(f"{source}: no project.qde member in the archive (members: "
                         f"{len(zf.namelist())}); export the project again as REFI-QDA "
                         f"project (.qdpx)")
    ns = NS_PROJECT
    qde = f"{source}: member {qde_name}"
    root = _parse_xml(zf.read(qde_name), qde)
    if root.tag != f"{{{ns}}}Project":
        raise InputError(f"{qde}: the root element is {root.tag}, expected <Project> in "
                         f"namespace {ns}")
    codes_el = root.find(f"{{{ns}}}CodeBook/{{{ns}}}Codes")
    codes = _read_codes(codes_el, ns, qde) if codes_el is not None else []
    code_of = {c["guid"]: c["id"] for c in codes}
    users = {u.get("guid"): u.get("name") or u.get("id") or u.get("guid")
             for u in root.iter(f"{{{ns}}}User")}
    problems: list = []
    notes: list = []
    texts, rows = {}, []
    sources_el = root.find(f"{{{ns}}}Sources")
    all_sources = list(sources_el) if sources_el is not None else []
    for k, src in enumerate(all_sources, start=1):
        if not isinstance(src.tag, str):
            continue
        kind = _local(src)
        where = f"{qde}, {_where(src, k)}"
        n_sel = Counter(_local(sel) for sel in src.iter() if _local(sel) in
                        _NON_TEXT_SELECTIONS or (_local(sel) == "PlainTextSelection"
                                                 and sel.getparent() is not src))
        for sel_kind, n in sorted(n_sel.items()):
            codings = sum(len(sel.findall(f"{{{ns}}}Coding")) for sel in src.iter()
                          if _local(sel) == sel_kind and (sel_kind != "PlainTextSelection"
                                                          or sel.getparent() is not src))
            if codings:
                problems.append(("non_text_coding",
                                 f"{where}: {codings} coding(s) on {n} <{sel_kind}> "
                                 f"{'of a text representation ' if sel_kind == 'PlainTextSelection' else ''}"
                                 f"of a {kind}; not imported (Concord codes transcript text)"))
        if kind != "TextSource":
            continue
        name = src.get("name") or src.get("guid")
        content = src.find(f"{{{ns}}}PlainTextContent")
        path = src.get("plainTextPath") or ""
        text = None
        if content is not None:
            text = content.text or ""
        elif path.startswith("internal://"):
            member = _member(zf, f"sources/{path[len('internal://'):]}")
            if member is None:
                problems.append(("missing_source",
                                 f"{where}: its text {path} is not in the archive (no member "
                                 f"sources/{path[len('internal://'):]}); its codings are "
                                 f"imported, its text is not -- export the project with its "
                                 f"sources to get it"))
            else:
                try:
                    text = zf.read(member).decode("utf-8-sig")
                except UnicodeDecodeError as exc:  # found by tests/test_fuzz.py
                    raise InputError(f"{source}: member {member}: {where}: the source text is "
                                     f"not UTF-8 (byte {exc.start}); export the project again "
                                     f"with UTF-8 sources") from None
        elif path:
            scheme = path.split("://", 1)[0] if "://" in path else "a bare path"
            problems.append(("external_source",
                             f"{where}: its text is outside the archive ({scheme}:// path), "
                             f"which is never read; its codings are imported, its text is "
                             f"not"))
        else:
            problems.append(("missing_source", f"{where}: no plainTextPath and no "
                                               f"<PlainTextContent>; its text is not imported"))
        sels = []
        for j, sel in enumerate(src.findall(f"{{{ns}}}PlainTextSelection"), start=1):
            try:
                a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
                if not 0 <= a <= b:
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(("bad_position", f"{where}, {_where(sel, j)}: startPosition "
                                                 f"and endPosition must be integers, start <= "
                                                 f"end; the selection is not imported"))
                continue
            sels.append((a, b, sel.get("name") or "", sel))
        if text is not None and "\r\n" in text:
            conv = _offset_convention(text, [(a, b, n) for a, b, n, _ in sels])
            if conv == "crlf":
                f = _lf_offset_map(text)
                sels = [(f(a), f(b), n, sel) for a, b, n, sel in sels]
            notes.append(f"{where}: CRLF line ends; selection offsets count them as "
                         f"{'two characters, converted to' if conv == 'crlf' else 'one, as in'}"
                         f" the LF text")
            text = text.replace("\r\n", "\n")
        if text is not None:
            texts[name] = text
        for a, b, _, sel in sels:
            for m, cod in enumerate(sel.findall(f"{{{ns}}}Coding"), start=1):
                ref = cod.find(f"{{{ns}}}CodeRef")
                target = ref.get("targetGUID") if ref is not None else None
                if target not in code_of:
                    problems.append(("dangling_code",
                                     f"{where}, {_where(sel)}, {_where(cod, m)}: the coding "
                                     f"refers to code {target}, which is not in the project's "
                                     f"codebook; not imported"))
                    continue
                user = cod.get("creatingUser") or sel.get("creatingUser")
                rows.append((name, a, b, code_of[target], users.get(user, user or "")))
    spans = pd.DataFrame(rows, columns=SPAN_COLUMNS)
    by_guid, categories = {c["guid"]: c for c in codes}, []
    for st in root.findall(f"{{{ns}}}Sets/{{{ns}}}Set"):  # code groups -> categories
        members = [m.get("targetGUID") for m in st.findall(f"{{{ns}}}MemberCode")]
        if any(g in by_guid for g in members):
            categories.append(st.get("name"))
            for g in members:
                if g in by_guid and "category" not in by_guid[g]:
                    by_guid[g]["category"] = st.get("name")
    return QdpxImport({"categories": categories, "codes": codes}, texts, spans, users,
                      problems, notes)


def read_qdpx(path_or_bytes, source: str | None = None, log=None):
    """A QDPX archive -> ``(codebook, texts, spans)`` (see :func:`import_qdpx`); the
    problems and notes are printed to ``log`` (default stderr), one per line."""
    imp = import_qdpx(path_or_bytes, source)
    for _, msg in imp.problems:
        print(f"WARNING: {msg}", file=log or sys.stderr)
    for msg in imp.notes:
        print(msg, file=log or sys.stderr)
    return imp.codebook, imp.texts, imp.spans


def read_qdpx_codings(path, user: str | None = None, log=None) -> pd.DataFrame:
    """Spans of one coder in a QDPX (``session_id, start, end, code``) for
    :func:`concord.code.combine_codings`. With ``user``: only that user's codings when
    the project names users (an error when it names others but not ``user``). A coding
    that cannot be imported (unknown code, bad positions) is an error here: a coder's
    work must not be lost silently; other problems are printed to ``log``."""
    imp = import_qdpx(path)
    bad = [msg for kind, msg in imp.problems if kind in _CODING_PROBLEMS]
    if bad:
        raise InputError(f"{bad[0]} ({len(bad)} coding problem(s) in all); fix the project "
                         f"and export it again")
    for _, msg in imp.problems:
        print(f"WARNING: {msg}", file=log or sys.stderr)
    spans = imp.spans
    coders = set(spans["coder"]) - {""}
    if user is not None and coders:
        if user not in coders:
            raise InputError(f"{path}: no codings by user {user!r}; the project's users are "
                             f"{', '.join(sorted(coders))} -- fix coders.tsv or the export")
        spans = spans[spans["coder"] == user]
    return spans[["session_id", "start", "end", "code"]].astype(str).reset_index(drop=True)


def validate(data: bytes, kind: str) -> list[str]:
    """Validate a QDC (``kind="codebook"``) or project.qde (``"project"``) against the
    REFI-QDA XSD in ``workflow/schemas/refi-qda/``; returns the errors (empty = valid)."""
    xsd = SCHEMAS / ("Codebook.xsd" if kind == "codebook" else "Project.xsd")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    doc = etree.fromstring(data)
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
