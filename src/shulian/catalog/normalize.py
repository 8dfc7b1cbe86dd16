"""Normal forms the catalogue matches and audits by.

- ``match_key``: records without a shared ISBN are the same work when their normalised title,
  first author and year agree. Normalising folds width, case, punctuation, spacing and
  Traditional/Simplified characters, so 紅樓夢 and 红楼梦 match.
- ``record_digest`` / ``item_digest``: a short hash of a row's state, written into the row's
  events, so an audit can tell a row changed behind the platform's back from one changed by it.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata

import opencc

from shulian.core.events import state_digest

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_CC: opencc.OpenCC | None = None
_CC_LOCK = threading.Lock()


def to_simplified(text: str) -> str:
    global _CC
    if _CC is None:
        with _CC_LOCK:
            _CC = _CC or opencc.OpenCC("t2s")
    return str(_CC.convert(text))


def fold(text: str | None) -> str:
    """Lower-case, width-folded, Simplified, without punctuation or spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    if any("\u3400" <= ch <= "\u9fff" for ch in text):
        text = to_simplified(text)
    return _PUNCT.sub("", text)


def match_key(title: str, first_author: str | None, year: int | None) -> str:
    raw = f"{fold(title)}|{fold(first_author)}|{year or ''}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


digest = state_digest  # the catalogue's row digests are the spine's
