"""The Chinese Library Classification (中图法) tree, shipped as package data.

Readers browse it from the 22 top classes (I 文学 -> I2 中国文学 -> I24 小说 -> ...); a record
is filed under the deepest class its CLC number starts with (``I246.57`` under ``I246.5``).
The tree is read-only reference data, loaded once per process.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from shulian.core.errors import NotFound


class ClcClassNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__("No class {code} in the Chinese Library Classification", code=code)


@dataclass(slots=True)
class ClcClass:
    code: str
    name: str
    parent: str | None
    children: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ClcTree:
    classes: dict[str, ClcClass]
    tops: list[str]

    def get(self, code: str) -> ClcClass:
        """Raises: ClcClassNotFound."""
        found = self.classes.get(code.strip().upper())
        if found is None:
            raise ClcClassNotFound(code)
        return found

    def path(self, code: str) -> list[ClcClass]:
        """The chain of classes from the top class down to ``code``."""
        chain = [self.get(code)]
        while chain[-1].parent:
            chain.append(self.classes[chain[-1].parent])
        return chain[::-1]

    def class_of(self, clc_number: str | None) -> ClcClass | None:
        """The deepest class a CLC number belongs to, or None if it is not a CLC number.

        A number carries extras after the class (``I246.5/12``, ``I246.57-49``, ``TP311.13=2``):
        the longest known prefix wins.
        """
        code = normalize_clc(clc_number)
        while code:
            found = self.classes.get(code)
            if found is not None:
                return found
            code = code[:-1].rstrip(".-")
        return None


_SPLIT = re.compile(r"[\s/;,]")


def normalize_clc(value: str | None) -> str:
    """The class part of a CLC number: upper case, without a book number after ``/``."""
    if not value:
        return ""
    return _SPLIT.split(value.strip().upper(), maxsplit=1)[0]


def top_class(clc_number: str | None) -> str | None:
    """The top class letter of a CLC number (``I246.5`` -> ``I``; ``TP311`` -> ``T``)."""
    code = normalize_clc(clc_number)
    if code and code[0] in tree().classes:
        return code[0]
    return None


@cache
def tree() -> ClcTree:
    raw = resources.files("shulian.catalog").joinpath("data/clc.json.gz").read_bytes()
    rows: list[list[str | None]] = json.loads(gzip.decompress(raw))
    classes: dict[str, ClcClass] = {}
    tops: list[str] = []
    for code, name, parent in rows:
        assert code is not None
        classes[code] = ClcClass(code=code, name=name or "", parent=parent)
        if parent is None:
            tops.append(code)
        else:
            classes[parent].children.append(code)
    return ClcTree(classes=classes, tops=tops)
