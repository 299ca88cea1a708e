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

GUIDs are deterministic: ``uuid5(NAMESPACE_URL, "concord:<study>:<kind>:<key>")``,
so re-exporting gives the same bytes (ZIP entries sorted, fixed timestamps, no
creation dates). What is written can be checked against the REFI-QDA XML schemas
(:func:`validate`, ``workflow/schemas/refi-qda/``).
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from pathlib import Path

import pandas as pd
from lxml import etree

from concord.tsvio import InputError

NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
NS_PROJECT = "urn:QDA-XML:project:1.0"
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


def _read_codes(codes_el, ns, source) -> list[dict]:
    out = []

    def walk(el, parent):
        for c in el.findall(f"{{{ns}}}Code"):
            desc_el = c.find(f"{{{ns}}}Description")
            d = _parse_description(desc_el.text if desc_el is not None else "")
            name = c.get("name")
            if not c.get("guid") or name is None:
                raise InputError(f"{source}, line {c.sourceline}: Code without guid or name")
            code = {"id": d.get("id") or _id_from_name(name), "name": name,
                    "parent": parent, "definition": d["definition"], "guid": c.get("guid")}
            for k in ("include", "exclude"):
                if k in d:
                    code[k] = d[k]
            if d["examples"]:
                code["examples"] = d["examples"]
            out.append(code)
            walk(c, code["id"])
    walk(codes_el, None)
    ids = [c["id"] for c in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError(f"{source}: code id(s) {', '.join(dup)} occur more than once; rename "
                         f"the codes so that their ids (or names) are unique")
    return out


def _parse_xml(data: bytes, source: str):
    try:
        return etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{source}, line {exc.lineno}: not well-formed XML ({exc.msg})") from None


def qdc_to_codebook(data: bytes, source: str = "codebook.qdc") -> dict:
    """A QDC document -> ``{"categories": [...], "codes": [...]}`` (each code with
    id, name, parent, definition, include/exclude/examples when present, guid and
    category from the Sets)."""
    root = _parse_xml(data, source)
    ns = NS_CODEBOOK
    if root.tag != f"{{{ns}}}CodeBook":
        raise InputError(f"{source}, line {root.sourceline}: root element is {root.tag}, "
                         f"expected CodeBook in namespace {ns}")
    codes_el = root.find(f"{{{ns}}}Codes")
    if codes_el is None:
        raise InputError(f"{source}: no Codes element")
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


def read_qdpx(path_or_bytes, source: str | None = None):
    """A QDPX archive -> ``(codebook, texts, spans)``: codebook as from
    :func:`qdc_to_codebook` (no categories), ``texts`` source name -> plain text,
    ``spans`` with :data:`SPAN_COLUMNS` (coder = the creating user's name)."""
    if isinstance(path_or_bytes, (bytes, bytearray)):
        data, source = bytes(path_or_bytes), source or "project.qdpx"
    else:
        source = source or str(path_or_bytes)
        data = Path(path_or_bytes).read_bytes()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError(f"{source}: not a QDPX (ZIP) archive; export the project again "
                         "as REFI-QDA project (.qdpx)") from None
    if "project.qde" not in zf.namelist():
        raise InputError(f"{source}: no project.qde in the archive")
    ns = NS_PROJECT
    qde = f"{source}/project.qde"
    root = _parse_xml(zf.read("project.qde"), qde)
    if root.tag != f"{{{ns}}}Project":
        raise InputError(f"{qde}, line {root.sourceline}: root element is {root.tag}, expected "
                         f"Project in namespace {ns}")
    codes_el = root.find(f"{{{ns}}}CodeBook/{{{ns}}}Codes")
    codes = _read_codes(codes_el, ns, qde) if codes_el is not None else []
    code_of = {c["guid"]: c["id"] for c in codes}
    users = {u.get("guid"): u.get("name") or u.get("id") or u.get("guid")
             for u in root.iter(f"{{{ns}}}User")}
    texts, rows = {}, []
    for src in root.iter(f"{{{ns}}}TextSource"):
        name = src.get("name") or src.get("guid")
        content = src.find(f"{{{ns}}}PlainTextContent")
        path = src.get("plainTextPath") or ""
        if content is not None:
            texts[name] = content.text or ""
        elif path.startswith("internal://"):
            member = f"sources/{path[len('internal://'):]}"
            if member not in zf.namelist():
                # a source's name is often a participant's ("Interview J. Smith"): not echoed
                raise InputError(f"{qde}, line {src.sourceline}: the source points at a text "
                                 f"file which is not in the archive; export the project again")
            texts[name] = zf.read(member).decode("utf-8-sig")
        for sel in src.findall(f"{{{ns}}}PlainTextSelection"):
            try:
                a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
            except (TypeError, ValueError):
                raise InputError(f"{qde}, line {sel.sourceline}: PlainTextSelection needs "
                                 f"integer startPosition and endPosition") from None
            for cod in sel.findall(f"{{{ns}}}Coding"):
                ref = cod.find(f"{{{ns}}}CodeRef")
                target = ref.get("targetGUID") if ref is not None else None
                if target not in code_of:
                    raise InputError(f"{qde}, line {cod.sourceline}: Coding refers to code "
                                     f"{target!r}, which is not in the project's codebook")
                user = cod.get("creatingUser") or sel.get("creatingUser")
                rows.append((name, a, b, code_of[target], users.get(user, user or "")))
    spans = pd.DataFrame(rows, columns=SPAN_COLUMNS)
    return {"codes": codes}, texts, spans


def read_qdpx_codings(path, user: str | None = None) -> pd.DataFrame:
    """Spans of one coder in a QDPX (``session_id, start, end, code``) for
    :func:`concord.code.combine_codings`. With ``user``: only that user's codings when
    the project names users (an error when it names others but not ``user``)."""
    _, _, spans = read_qdpx(path)
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
