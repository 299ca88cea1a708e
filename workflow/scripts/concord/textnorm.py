"""Text folding shared by the de-identification, the roster matcher and the leak gate.

Transcription services and word processors write the same name in several ways:
``O’Brien`` (typographic apostrophe) for a roster's ``O'Brien``, ``Jose Nunez`` for
``José Ñúñez``, a no-break space between given name and surname. :func:`fold` maps
all of these to one comparable form, so that the redactor and the gate apply the
same rule: compare folded forms, never raw strings.
"""

from __future__ import annotations

import unicodedata

# apostrophes and quotes that stand for U+0027 in names (O’Brien, D‘Souza, ʼ, ′, ＇)
APOSTROPHES = "\u2019\u2018\u02bc\u02bb\u2032\uff07\u0060\u00b4"
# hyphens and dashes that join double-barrelled names
HYPHENS = "\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d"
_TABLE = str.maketrans({**{c: "'" for c in APOSTROPHES}, **{c: "-" for c in HYPHENS},
                        "\u00a0": " ", "\u202f": " ", "\u2007": " "})


def fold(text: str) -> str:
    """Case-, accent-, apostrophe-, hyphen- and space-folded form of ``text``.

    >>> fold("O’Brien")
    "o'brien"
    >>> fold("José Ñúñez")
    'jose nunez'
    >>> fold("Szöllössy")
    'szollossy'
    """
    if text.isascii():  # fast path, same result: NFKD and the accent strip change no
        return text.replace("`", "'").lower()  # ASCII; of _TABLE only ` is ASCII
    decomposed = unicodedata.normalize("NFKD", text.translate(_TABLE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def fold_keep_length(text: str) -> str:
    """:func:`fold` that keeps every character's position (one char in, one out),
    so offsets found in the folded text are offsets in the original. Characters
    whose folded form is not one character (``ß`` → ``ss``, ligatures) keep their
    lower-case form."""
    if text.isascii():  # fast path, same result (see fold)
        return text.replace("`", "'").lower()
    out = []
    for ch in text:
        f = fold(ch)
        out.append(f if len(f) == 1 else ch.lower() if len(ch.lower()) == 1 else ch)
    return "".join(out)
