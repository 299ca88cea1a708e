"""The manuscript: resolve registry shortcodes in the .qmd, then render it.

Shortcodes (Quarto syntax, resolved here before Quarto or pandoc sees the text):

* ``{{< num KEY >}}`` → the entry's display text. With ``link=True`` it is a link
  ``[display](#num-KEY "meaning")`` to the entry in the audit appendix (HTML shows
  the meaning as a tooltip; DOCX gets an internal hyperlink to a bookmark).
* ``{{< table NAME >}}`` → a pipe table from the registry table ``NAME`` with its
  caption, inside a ``::: {#tbl-NAME}`` div; number cells are resolved like ``num``.
* ``{{< audit >}}`` → the audit appendix: for every number used anywhere in the
  document (first use first), an anchor ``[KEY]{#num-KEY}``, the value, meaning,
  rule, source file, lines, sha256, the segment count and the first segments
  (ID, session, speaker pseudonym, de-identified text).

Inside the YAML front matter shortcodes resolve to plain text escaped for a
double-quoted YAML string (write ``title: "{{< num study.title >}}"``).
An unknown key, table or shortcode raises :class:`~concord.tsvio.InputError`
naming it and the .qmd line.

:func:`render` turns the resolved text into HTML/DOCX with Quarto when it is on
``PATH``, otherwise with the pandoc bundled in ``pypandoc-binary``; both read the
same resolved file. DOCX gets fixed timestamps (``SOURCE_DATE_EPOCH``) so that
two runs give the same bytes. PDF (no LaTeX): pandoc writes Typst and the ``typst``
wheel compiles it in-process (``typst.compile``), embedded fonts only, dated
``SOURCE_DATE_EPOCH`` — byte-identical across runs.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path

from concord.tsvio import InputError

SHORTCODE = re.compile(r"\{\{<\s*([A-Za-z_][\w-]*)((?:\s+[^\s>]+)*)\s*>\}\}")
KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
MD_SPECIAL = set("\\`*_{}[]<>#|$~^@\"")
AUDIT_SEGMENTS = 5
# 1980-01-01T00:00:00Z, the earliest ZIP timestamp: "no real date" in DOCX metadata
DEFAULT_EPOCH = "315532800"


def md_escape(text: str) -> str:
    """Backslash-escape Markdown punctuation so text is shown literally."""
    return "".join("\\" + ch if ch in MD_SPECIAL else ch for ch in str(text))


def _yaml_escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _title_escape(text: str) -> str:
    return " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"')


def anchor(key: str) -> str:
    return f"num-{key}"


def _front_matter_end(lines: list[str]) -> int:
    """Index of the line after the closing ``---`` of a leading YAML block, or 0."""
    if not lines or lines[0].rstrip("\r\n") != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n") in ("---", "..."):
            return i + 1
    raise InputError("manuscript: YAML front matter starting on line 1 is not closed by '---'")


class _Resolver:
    def __init__(self, registry: dict, source: str, segments: dict | None = None):
        self.segments = segments or {}
        self.numbers = registry.get("numbers", {})
        self.tables = registry.get("tables", {})
        self.source = source
        self.used: list[str] = []           # keys in order of first use

    def _where(self, lineno: int) -> str:
        return f"{self.source}:{lineno}"

    def entry(self, key: str, lineno: int, context: str = "") -> dict:
        if key not in self.numbers:
            close = difflib.get_close_matches(key, list(self.numbers), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(f"{self._where(lineno)}: unknown number key {key!r}{context} "
                             f"(not in the numbers registry){hint}")
        if key not in self.used:
            self.used.append(key)
        return self.numbers[key]

    def num(self, key: str, lineno: int, link: bool, context: str = "") -> str:
        e = self.entry(key, lineno, context)
        if not link:
            return md_escape(e["display"])
        return (f"[{md_escape(e['display'])}](#{anchor(key)} "
                f"\"{_title_escape(e.get('meaning', ''))}\")")

    def table(self, name: str, lineno: int, link: bool) -> str:
        if name not in self.tables:
            close = difflib.get_close_matches(name, list(self.tables), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(f"{self._where(lineno)}: unknown table {name!r} "
                             f"(not in the numbers registry){hint}")
        t = self.tables[name]
        cols = list(t["columns"])
        body, numeric = [], [False] * len(cols)
        for row in t["rows"]:
            if len(row) != len(cols):
                raise InputError(f"{self._where(lineno)}: table {name!r}: a row has {len(row)} "
                                 f"cells for {len(cols)} columns")
            cells = []
            for j, cell in enumerate(row):
                if isinstance(cell, dict):
                    numeric[j] = True
                    cells.append(self.num(cell["num"], lineno, link, f" in table {name!r}"))
                else:
                    cells.append(md_escape("" if cell is None else cell))
            body.append(cells)
        # dashes set relative column widths when lines are long: use visible text length
        widths = [max([len(c) for c in cols[j:j + 1]]
                      + [len(re.sub(r"\]\(#.*", "", r[j])) for r in body]) for j in range(len(cols))]
        rule = ["-" * max(3, min(w, 40)) for w in widths]
        rule = [("" if numeric[j] else ":") + d[:-1] + (":" if numeric[j] else "-")
                for j, d in enumerate(rule)]
        out = ["| " + " | ".join(md_escape(c) for c in cols) + " |",
               "|" + "|".join(rule) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in body]
        caption = md_escape(t.get("caption", "")).strip()
        # a fenced div carries the id: quarto reads it as a table cross-reference,
        # pandoc as an anchor (pandoc does not read ids in table captions)
        return "\n".join([f"::: {{#tbl-{name}}}", "", *out, "", f": {caption}", "", ":::"])

    def audit(self) -> str:
        if not self.used:
            return "No numbers from the registry are used in this document."
        out = []
        for key in self.used:
            e = self.numbers[key]
            src = e.get("source", {})
            lines = _ranges(src.get("lines", []))
            segs = e.get("segments", [])
            value = e.get("value")
            parts = [f"[**{md_escape(key)}**]{{#{anchor(key)}}}: {md_escape(e['display'])}"
                     + ("" if value is None or str(value) == e["display"]
                        else f" (value `{value:.6g}`)" if isinstance(value, float)
                        else f" (value `{value}`)"),
                     f"  {md_escape(e.get('meaning', ''))}.",
                     f"  Rule `{e.get('rule', '?')}`; source `{src.get('file', '?')}`"
                     + (f", line{'s' if ',' in lines or '–' in lines else ''} {lines}"
                        if lines else "")
                     + f"; sha256 `{src.get('sha256', '?')}`"]
            quotes = []
            if segs:
                shown = segs[:AUDIT_SEGMENTS]
                more = (f", the first {len(shown)} shown" if len(segs) > len(shown) else "")
                parts[-1] += f"; {len(segs)} segment{'s' if len(segs) != 1 else ''}{more}"
                for sid in shown:
                    seg = self.segments.get(sid)
                    if seg is None:
                        quotes.append(f"    - `{sid}`")
                    else:
                        quotes.append(f"    - `{sid}` (session {md_escape(seg['session_id'])}, "
                                      f"{md_escape(seg['speaker_id'])}): "
                                      f"\u201c{md_escape(seg['text'])}\u201d")
            parts[-1] += "."
            out.append("- " + "\n".join(parts) + ("\n\n" + "\n".join(quotes) if quotes else ""))
        return "\n".join(out)


def _ranges(lines: list[int]) -> str:
    """[2, 3, 4, 9] -> '2–4, 9'."""
    out, nums = [], sorted(set(int(x) for x in lines))
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}–{nums[j]}")
        i = j + 1
    return ", ".join(out)


def resolve(qmd_text: str, registry: dict, link: bool = True,
            source: str = "manuscript.qmd", segments: dict | None = None,
            blocks: dict[str, str] | None = None) -> str:
    """Replace ``num``/``table``/``audit`` shortcodes (see the module docstring).

    ``segments`` (segment ID → row with ``session_id``, ``speaker_id``, ``text``,
    see :func:`load_segments`) lets the audit appendix quote the first
    ``AUDIT_SEGMENTS`` de-identified segments behind each number. ``blocks`` maps
    further shortcode names (``checklist``, ``colophon``) to Markdown inserted in
    their place, whose own ``num`` shortcodes are resolved too."""
    blocks = blocks or {}
    r = _Resolver(registry, source, segments)
    lines = qmd_text.splitlines(keepends=True)
    fm_end = _front_matter_end(lines)
    audits: list[int] = []
    out = []
    for i, line in enumerate(lines):
        lineno = i + 1
        in_fm = i < fm_end

        def sub(m, lineno=lineno, in_fm=in_fm):
            name, args = m.group(1), m.group(2).split()
            if name == "num":
                if len(args) != 1 or not KEY.match(args[0]):
                    raise InputError(f"{source}:{lineno}: {{{{< num KEY >}}}} needs one key, "
                                     f"got {m.group(0)!r}")
                if in_fm:
                    return _yaml_escape(r.entry(args[0], lineno)["display"])
                return r.num(args[0], lineno, link)
            if in_fm:
                raise InputError(f"{source}:{lineno}: only num shortcodes may appear in the "
                                 f"front matter, got {m.group(0)!r}")
            if name == "table":
                if len(args) != 1:
                    raise InputError(f"{source}:{lineno}: {{{{< table NAME >}}}} needs one "
                                     f"name, got {m.group(0)!r}")
                return r.table(args[0], lineno, link)
            if name == "audit":
                audits.append(lineno)
                return "\x00AUDIT\x00"
            if name in blocks:
                return SHORTCODE.sub(sub, blocks[name])
            raise InputError(f"{source}:{lineno}: unknown shortcode {name!r} in {m.group(0)!r} "
                             f"(known: {', '.join(['num', 'table', 'audit', *sorted(blocks)])})")

        out.append(SHORTCODE.sub(sub, line))
    text = "".join(out)
    if len(audits) > 1:
        raise InputError(f"{source}:{audits[1]}: a second {{{{< audit >}}}} "
                         f"(first on line {audits[0]}); anchors must be unique")
    if audits:
        text = text.replace("\x00AUDIT\x00", r.audit())
    return text


PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_]\w*(?:\.\w+)*)\}(?!\})")


def _config_value(config: dict, dotted: str):
    value = config
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def checklist_markdown(checklist: dict, config: dict, source: str = "coreq.yaml") -> str:
    """The COREQ table (Markdown, with ``num`` shortcodes still in it) from the
    checklist YAML (see ``workflow/report/coreq.yaml``) and the study config.

    Raises :class:`InputError` naming the item when numbering is not 1..32 without
    gaps, an item has neither ``where`` nor ``not_reported``, or a ``{config.path}``
    placeholder is not in the config."""
    rows, numbers = [], []
    for domain in checklist.get("domains", []):
        for item in domain.get("items", []):
            n = item.get("n")
            numbers.append(n)

            def fill(text, n=n):
                def one(m):
                    try:
                        return md_escape(_config_value(config, m.group(1)))
                    except KeyError:
                        raise InputError(f"{source}: item {n}: placeholder {{{m.group(1)}}} "
                                         f"is not in the study config") from None
                parts = re.split(r"(\{\{<.*?>\}\})", str(text))
                return "".join(p if p.startswith("{{<") else
                               PLACEHOLDER.sub(one, md_escape_keep_braces(p)) for p in parts)

            where = item.get("where") or []
            if where:
                shown = ", ".join(f"[{w.replace('-', ' ').capitalize()}](#{w})" for w in where)
                answer = fill(item.get("answer", ""))
            elif item.get("not_reported"):
                shown = "not reported"
                answer = fill(item["not_reported"])
            else:
                raise InputError(f"{source}: item {n} ({item.get('topic')}): give `where` "
                                 f"(sections reporting it) or `not_reported` (why not)")
            rows.append(f"| {n} | {md_escape(domain.get('name', ''))} | "
                        f"{md_escape(item.get('topic', ''))} | {shown} | {answer} |")
    if numbers != list(range(1, len(numbers) + 1)) or len(numbers) != 32:
        raise InputError(f"{source}: COREQ items must be numbered 1 to 32 in order, "
                         f"got {numbers}")
    head = ["| No. | Domain | Item | Reported in | Answer |", "|--:|:--|:--|:--|:-----|"]
    return "\n".join(["::: {#tbl-coreq}", "", *head, *rows, "",
                      ": COREQ checklist (Tong et al., 2007) for this study", "", ":::"])


def md_escape_keep_braces(text: str) -> str:
    """:func:`md_escape` but leaving ``{`` ``}`` (placeholders are filled after)."""
    return "".join("\\" + ch if ch in MD_SPECIAL - {"{", "}"} else ch for ch in str(text))


def engine(backend: str | None = None) -> tuple[str, str]:
    """``(backend, "pandoc 3.9")``: which engine will render, with its version."""
    if backend is None:
        backend = "quarto" if shutil.which("quarto") else "pandoc"
    exe = (shutil.which("quarto") or "quarto") if backend == "quarto" else pandoc_path()
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
        version = (out.stdout.strip().splitlines() or ["?"])[0].split()[-1]
    except (OSError, subprocess.SubprocessError):
        version = "?"
    return backend, f"{backend} {version}"


def colophon(backend: str, version: str, formats: list[str]) -> str:
    """The colophon sentence: which engine rendered this document."""
    import importlib.metadata as md
    parts = [f"This document was rendered by {md_escape(version)}"
             + (" (the copy bundled with the pypandoc-binary package; Quarto was not found)"
                if backend == "pandoc" else "")
             + " from the numbers registry"]
    if "pdf" in formats:
        try:
            tv = md.version("typst")
        except md.PackageNotFoundError:
            tv = "?"
        parts.append(f"the PDF was typeset from pandoc's Typst output by the typst Python "
                     f"package {tv} with its embedded fonts")
    return "[" + "; ".join(parts) + ".]{#colophon}"


def load_segments(paths, registry: dict | None = None) -> dict:
    """Segment ID → ``{"session_id", "speaker_id", "text"}`` from segment TSVs.

    With the ``registry``, only the segments the audit appendix can quote (the first
    ``AUDIT_SEGMENTS`` of each number) are kept, and only their sessions' files are
    read: 2,000 sessions hold over two million segments."""
    from concord.tsvio import read_tsv
    wanted = None
    if registry is not None:
        wanted = {sid for e in registry.get("numbers", {}).values()
                  for sid in e.get("segments", [])[:AUDIT_SEGMENTS]}
        sessions = {sid.rsplit("-T", 1)[0] for sid in wanted}
        paths = [p for p in paths if Path(p).stem in sessions]
    out = {}
    for p in paths:
        df = read_tsv(p, required=["segment_id", "session_id", "speaker_id", "text"])
        if wanted is not None:
            df = df[df["segment_id"].isin(wanted)]
        for row in df[["segment_id", "session_id", "speaker_id", "text"]].itertuples(index=False):
            out[row.segment_id] = {"session_id": row.session_id, "speaker_id": row.speaker_id,
                                   "text": row.text}
    return out


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

def pandoc_path() -> str:
    import pypandoc
    return pypandoc.get_pandoc_path()


FORMATS = ("html", "docx", "pdf")


def _render_pdf(src: Path, target: Path, bibliography: str, resource_path: str, env: dict,
                log=None) -> str:
    """PDF without LaTeX: the bundled pandoc writes Typst, the ``typst`` wheel compiles
    it offline with its embedded fonts only (system fonts ignored: same bytes on any
    machine), dated ``SOURCE_DATE_EPOCH``. Figure paths become root-relative
    (``/results/...``) with the Typst root at the first resource folder."""
    import typst
    from concord.atomic import temp_path
    typ = temp_path(target.with_suffix(".typ"))
    cmd = [pandoc_path(), src.name, "--from", "markdown", "--to", "typst", "--standalone",
           "--citeproc", f"--bibliography={bibliography}", "--output", typ.name]
    if log:
        log(f"render: pandoc: {' '.join(cmd)}")
    try:
        proc = subprocess.run(cmd, cwd=target.parent, env=env, capture_output=True, text=True)
        if log and proc.stderr.strip():
            log(proc.stderr.strip())
        if proc.returncode != 0:
            raise RuntimeError(f"pandoc failed writing Typst (exit {proc.returncode}): "
                               f"{proc.stderr.strip()[-2000:]}")
        text = typ.read_text(encoding="utf-8")
    finally:
        typ.unlink(missing_ok=True)
    root = Path(resource_path.split(os.pathsep)[0]).resolve()
    text = re.sub(r'image\("(?!/)([^"]+)"', lambda m: f'image("/{m.group(1)}"', text)
    # wide registry tables: a smaller type than the text (show rules apply from here on)
    text = "#show table: set text(size: 7.5pt)\n#show table: set par(justify: false)\n" + text
    try:
        pdf = typst.compile(text.encode("utf-8"), root=str(root), ignore_system_fonts=True,
                            format="pdf",
                            timestamp=int(env.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH)))
    except RuntimeError as exc:   # typst.TypstError: message + diagnostic
        raise RuntimeError(f"typst failed compiling {target.name}: {exc}") from exc
    from concord.atomic import write_bytes  # temporary file + rename
    write_bytes(target, pdf)
    if log:
        log(f"render: typst {getattr(typst, '__version__', '')} compiled {target.name} "
            f"(embedded fonts, root {root.name or root})")
    return str(target)


def render(resolved_md: str, formats: list[str], outdir, bibliography,
           resource_path: list | str = ".", backend: str | None = None,
           stem: str = "manuscript", log=None) -> dict:
    """Render ``resolved_md`` to ``outdir/{stem}.{fmt}`` for each format.

    The text is first written to ``outdir/{stem}.qmd``; Quarto (when
    ``shutil.which("quarto")`` finds it, or ``backend="quarto"``) or the bundled
    pandoc (``backend="pandoc"``) renders that same file. Paths in the text (figures)
    are looked up along ``resource_path`` (a list, or an ``os.pathsep``-joined
    string). Returns ``{fmt: path}``.
    """
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    # relative to outdir, where the backend runs: the path ends up in the document's
    # metadata (DOCX custom properties), and must not carry this machine's folders
    bibliography = os.path.relpath(Path(bibliography).resolve(), outdir)
    if isinstance(resource_path, (list, tuple)):
        resource_path = os.pathsep.join(str(Path(p).resolve()) for p in resource_path)
    if backend is None:
        backend = "quarto" if shutil.which("quarto") else "pandoc"
    if backend not in ("quarto", "pandoc"):
        raise ValueError(f"unknown backend {backend!r}")
    if log:
        log(f"render: backend {backend}" + ("" if backend == "quarto" else
            f" (bundled pandoc {pandoc_path()}; quarto not used)"))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"manuscript.formats: unsupported format(s) {', '.join(unknown)} "
                         f"(supported: {', '.join(FORMATS)})")
    src = outdir / f"{stem}.qmd"
    from concord.atomic import replacing, write_text  # temporary file + rename
    write_text(src, resolved_md)
    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", DEFAULT_EPOCH)
    out = {}
    for fmt in formats:
        target = outdir / f"{stem}.{fmt}"
        if fmt == "pdf":
            out[fmt] = _render_pdf(src, target, bibliography, resource_path, env, log)
            continue
        with replacing(target) as tmp:   # the backend writes tmp; renamed when whole
            _run_backend(backend, fmt, src, tmp, bibliography, resource_path, env, log)
        out[fmt] = str(target)
    return out


def _run_backend(backend, fmt, src, target, bibliography, resource_path, env, log):
    """One HTML or DOCX rendering of ``src`` to ``target`` (in the same folder)."""
    outdir = src.parent
    if backend == "quarto":
        cmd = [shutil.which("quarto") or "quarto", "render", str(src), "--to", fmt,
               "--output", target.name, "-M", f"bibliography:{bibliography}",
               f"--resource-path={resource_path}"]
        if fmt == "html":
            cmd += ["-M", "embed-resources:true", "--mathml"]
        cwd = outdir
    else:
        cmd = [pandoc_path(), src.name, "--from", "markdown", "--to", fmt,
               "--standalone", "--citeproc", f"--bibliography={bibliography}",
               f"--resource-path={resource_path}", "--output", target.name]
        if fmt == "html":
            cmd += ["--embed-resources", "--mathml"]
        cwd = outdir
    if log:
        log(f"render: {backend}: {' '.join(cmd)}")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if log and proc.stderr.strip():
        log(proc.stderr.strip())
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} failed rendering {fmt} (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-2000:]}")
    if not target.exists():
        raise RuntimeError(f"{backend} reported success but {target} was not written")
