"""Machine checks of a rendered manuscript's layout (used by tests/test_layout.py).

* :func:`pdf_problems`: word boxes of every PDF page (pdfplumber, pinned): two words
  whose boxes overlap, or a word outside the page.
* :func:`html_problems`: the HTML laid out by headless Chromium (Debian package
  ``chromium``): a table wider than the text column or the window, a caption,
  figure caption or heading whose text is clipped, a page that scrolls sideways.
* :func:`pdf_pages_png` / :func:`html_screenshot`: images to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

# share of the smaller word box two boxes must share to count as overlapping:
# adjacent lines touch at ascenders/descenders, overprinted words share most of a box
OVERLAP_SHARE = 0.25
# share of the narrower of two letters that overlap within one word (kerning moves
# a letter by a few per cent of its width; overprinting by much more)
CHAR_OVERLAP = 0.4


def pdf_words(path) -> list[tuple[int, dict]]:
    import pdfplumber
    out = []
    with pdfplumber.open(str(path)) as pdf:
        for n, page in enumerate(pdf.pages, 1):
            for w in page.extract_words(keep_blank_chars=False, use_text_flow=False):
                out.append((n, w))
    return out


def pdf_problems(path) -> list[str]:
    """Overlapping words and words outside the page, as readable strings."""
    import pdfplumber
    problems = []
    with pdfplumber.open(str(path)) as pdf:
        for n, page in enumerate(pdf.pages, 1):
            words = page.extract_words(keep_blank_chars=False, use_text_flow=False,
                                       return_chars=True)
            for w in words:
                # overprinted text is read as one word: its letters overlap each other
                chars = sorted(w["chars"], key=lambda c: c["x0"])
                for c, d in zip(chars, chars[1:]):
                    dy = min(c["bottom"], d["bottom"]) - max(c["top"], d["top"])
                    narrow = min(c["x1"] - c["x0"], d["x1"] - d["x0"])
                    if not (c["text"].isalnum() and d["text"].isalnum()):
                        continue            # punctuation is kerned ("me.”"): not a clash
                    if dy > 0.5 * (c["bottom"] - c["top"]) and narrow > 0 \
                            and c["x1"] - d["x0"] > CHAR_OVERLAP * narrow:
                        problems.append(f"page {n}: letters overlap in {w['text']!r} "
                                        f"at ({w['x0']:.0f}, {w['top']:.0f})")
                        break
                if w["x0"] < -0.5 or w["x1"] > page.width + 0.5 or w["bottom"] > page.height + 0.5:
                    problems.append(f"page {n}: {w['text']!r} outside the page "
                                    f"(x {w['x0']:.0f}–{w['x1']:.0f} of {page.width:.0f})")
            words.sort(key=lambda w: w["top"])
            for i, a in enumerate(words):
                for b in words[i + 1:]:
                    if b["top"] >= a["bottom"]:
                        break
                    dx = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
                    dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
                    if dx <= 0 or dy <= 0:
                        continue
                    small = min((a["x1"] - a["x0"]) * (a["bottom"] - a["top"]),
                                (b["x1"] - b["x0"]) * (b["bottom"] - b["top"]))
                    if small > 0 and dx * dy / small > OVERLAP_SHARE:
                        problems.append(f"page {n}: {a['text']!r} overlaps {b['text']!r} "
                                        f"at ({a['x0']:.0f}, {a['top']:.0f})")
    return problems


def pdf_page_count(path) -> int:
    import pdfplumber
    with pdfplumber.open(str(path)) as pdf:
        return len(pdf.pages)


def pdf_pages_png(path, outdir, dpi: int = 60) -> list[Path]:
    """Each page as a PNG (pypdfium2, which pdfplumber brings): what pdftoppm -r 60 gives."""
    import pypdfium2 as pdfium
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    doc = pdfium.PdfDocument(str(path))
    paths = []
    for i in range(len(doc)):
        p = outdir / f"{Path(path).stem}-{i + 1:03d}.png"
        doc[i].render(scale=dpi / 72).to_pil().save(p)
        paths.append(p)
    doc.close()
    return paths


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


# Run in the page after layout; writes its findings into <pre id="layout-report">.
CHECK_JS = r"""
<script>
window.addEventListener('load', function () {
  var out = [];
  var vw = document.documentElement.clientWidth;
  var body = document.body.getBoundingClientRect();
  var cs = getComputedStyle(document.body);
  var right = body.right - parseFloat(cs.paddingRight) + 1;
  function txt(el) { return (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60); }
  document.querySelectorAll('table').forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (r.right > right || r.right > vw) out.push('table overflows the text column (' +
        Math.round(r.right) + ' > ' + Math.round(Math.min(right, vw)) + '): ' + txt(t));
    if (t.scrollWidth > t.clientWidth + 1) out.push('table scrolls: ' + txt(t));
  });
  document.querySelectorAll('caption, figcaption, h1, h2, h3, h4, th, td').forEach(function (el) {
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible')
      out.push(el.tagName.toLowerCase() + ' clipped: ' + txt(el));
    var r = el.getBoundingClientRect();
    if (r.right > vw + 1) out.push(el.tagName.toLowerCase() + ' beyond the window: ' + txt(el));
    var p = el.parentElement;
    while (p && p !== document.body) {
      var s = getComputedStyle(p);
      if ((s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden')
          && p.scrollWidth > p.clientWidth + 1) {
        out.push(el.tagName.toLowerCase() + ' inside a box that cuts or scrolls it: ' + txt(el));
        break;
      }
      p = p.parentElement;
    }
  });
  document.querySelectorAll('img').forEach(function (im) {
    var r = im.getBoundingClientRect();
    if (r.right > right || r.width < 50) out.push('figure does not fit: ' + (im.alt || '').slice(0, 60));
  });
  if (document.documentElement.scrollWidth > vw + 1) out.push('page scrolls sideways (' +
      document.documentElement.scrollWidth + ' > ' + vw + ')');
  var pre = document.createElement('pre');
  pre.id = 'layout-report';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def _run_chromium(args: list[str], timeout: int = 180) -> subprocess.CompletedProcess:
    exe = chromium()
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def html_problems(path, width: int = 1280) -> list[str]:
    """Lay the HTML out in headless Chromium at ``width`` CSS pixels and report what
    does not fit (see the module docstring)."""
    src = Path(path).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(src.replace("</body>", CHECK_JS + "</body>"), encoding="utf-8")
        proc = _run_chromium([f"--window-size={width},1000", "--virtual-time-budget=5000",
                              "--dump-dom", page.as_uri()])
    m = re.search(r'<pre id="layout-report">(.*?)</pre>', proc.stdout, re.S)
    if not m:
        raise RuntimeError(f"chromium gave no layout report (exit {proc.returncode}): "
                           f"{proc.stderr[-1500:]}")
    import html as _html
    return json.loads(_html.unescape(m.group(1)))


def html_screenshot(path, png, width: int = 1280, height: int = 6000) -> Path:
    proc = _run_chromium([f"--window-size={width},{height}", f"--screenshot={png}",
                          Path(path).resolve().as_uri()])
    if not Path(png).exists():
        raise RuntimeError(f"chromium wrote no screenshot: {proc.stderr[-1500:]}")
    return Path(png)
