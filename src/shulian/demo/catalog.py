"""The demo catalogue: 3,000 real Library of Congress records (2,000 in Chinese, with vernacular
titles in Traditional and Simplified characters, and the first 1,000 of LC's "Books All" file),
published, with copies spread over the demo branches and shelves.

The records are real; two things are added for the demo and are not in the source:
- a CLC class (中图分类号) for records that have none, derived from the LC classification by the
  rough main-class crosswalk below (good enough to browse by class, not a cataloguing tool);
- items (copies), 1 to 3 per record, with barcodes ``D0000001``... and shelf positions.

Source: Library of Congress, MDSConnect "Books All" 2016 (no known copyright restrictions);
the files are ``data/loc-chinese-2000.mrc.gz`` and ``data/loc-first-1000.mrc.gz``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime
from importlib import resources

from sqlalchemy.orm import Session, sessionmaker

from shulian.catalog import importer, service as catalog_service
from shulian.catalog.bib import BibData, ItemData

FILES = ("loc-chinese-2000.mrc.gz", "loc-first-1000.mrc.gz")
ACTOR = "system:demo"
LENDING_BRANCHES = ("CEN", "CEN", "B01", "B02", "B03", "S01", "S02")

# LC class (longest prefix first) -> CLC class. Approximate, main classes only.
LC_TO_CLC: tuple[tuple[str, str], ...] = (
    ("PL2250", "I2"),  # Chinese literature -> 中国文学
    ("PL1001", "H1"),  # Chinese language -> 汉语
    ("PL", "I3"),  # other East Asian languages and literature -> 亚洲文学
    ("PN", "I0"),  # literature (general) -> 文学理论
    ("PQ", "I5"), ("PR", "I5"), ("PS", "I7"), ("PT", "I5"), ("PG", "I5"),  # European, American
    ("P", "H"),  # language -> 语言、文字
    ("DS701", "K2"),  # history of China -> 中国史
    ("D", "K"), ("E", "K7"), ("F", "K7"), ("C", "K"),  # history
    ("GV", "G8"),  # recreation, sport -> 体育
    ("G", "K9"),  # geography -> 地理
    ("HB", "F"), ("HC", "F"), ("HD", "F"), ("HE", "F"), ("HF", "F"), ("HG", "F"), ("HJ", "F"),
    ("H", "C91"),  # sociology
    ("J", "D"),  # political science
    ("K", "D9"),  # law
    ("L", "G4"),  # education
    ("M", "J6"),  # music
    ("N", "J"),  # fine arts -> 艺术
    ("BL", "B9"), ("BM", "B9"), ("BP", "B9"), ("BQ", "B9"), ("BR", "B9"), ("BS", "B9"),
    ("BT", "B9"), ("BV", "B9"), ("BX", "B9"),  # religion
    ("B", "B"),  # philosophy
    ("QA", "O1"), ("QB", "P1"), ("QC", "O4"), ("QD", "O6"), ("QE", "P5"),
    ("QH", "Q"), ("QK", "Q94"), ("QL", "Q95"), ("QM", "R32"), ("QP", "Q4"), ("QR", "Q93"),
    ("Q", "N"),  # science
    ("R", "R"), ("S", "S"),
    ("TK", "TM"), ("TA", "TU"), ("TH", "TU"), ("T", "T"),
    ("U", "E"), ("V", "E"),
    ("Z", "G25"),  # library science, bibliography -> 图书馆学
    ("A", "Z"),  # general works -> 综合性图书
)  # fmt: skip

# Floors by CLC top class: social sciences on 2F, literature and arts on 3F, science on 4F.
FLOORS = {**dict.fromkeys("ABCDEFGHKZ", "2F"), **dict.fromkeys("IJ", "3F")}


# The crosswalk split once into (class letters, first class number or None, CLC class).
_CROSSWALK = [
    (letters, int(number) if number else None, clc)
    for prefix, clc in LC_TO_CLC
    for letters, number in [re.fullmatch(r"([A-Z]+)(\d*)", prefix).groups()]  # type: ignore[union-attr]
]


def clc_from_lc(call_number: str | None) -> str | None:
    """The CLC class the crosswalk gives an LC call number (``PL2658.S43`` -> ``I2``)."""
    m = re.match(r"([A-Z]{1,3})\s*(\d*)", (call_number or "").strip().upper())
    if not m:
        return None
    letters, number = m.group(1), int(m.group(2) or 0)
    for p_letters, p_number, clc in _CROSSWALK:
        if letters.startswith(p_letters) and (
            p_number is None or (letters == p_letters and number >= p_number)
        ):
            return clc
    return None


def _dress(file_no: int) -> Callable[[int, BibData], None]:
    rng = random.Random(20261121 + file_no)  # noqa: S311 - demo shelf layout, not security

    def dress(number: int, bib: BibData) -> None:
        bib.clc = bib.clc or clc_from_lc(bib.call_number)
        top = (bib.clc or "Z")[0]
        for n in range(rng.choice((1, 1, 2, 2, 3))):
            bib.items.append(
                ItemData(
                    barcode=f"D{file_no}{number:05d}{n}",
                    branch=rng.choice(LENDING_BRANCHES),
                    call_number=bib.call_number,
                    floor=FLOORS.get(top, "4F"),
                    shelf_range=str(ord(top) - 64),
                    shelf=str(1 + number % 12),
                    layer=1 + number % 6,
                    position=1 + number % 40,
                    item_type="book",
                    price=f"CNY{rng.randint(18, 128)}.00",
                )
            )

    return dress


def load(factory: sessionmaker[Session], *, clock: Callable[[], datetime]) -> int:
    """Import the demo records (once); returns how many records were added."""
    with factory() as session:
        if catalog_service.count_published(session) > 0:
            return 0
    added = 0
    for file_no, name in enumerate(FILES, start=1):
        with resources.as_file(resources.files("shulian.demo").joinpath("data", name)) as path:
            job_id = importer.import_file(
                factory,
                path,
                actor=ACTOR,
                clock=clock,
                publish=True,
                branch="CEN",
                transform=_dress(file_no),
            )
        with factory() as session:
            added += importer.report(session, job_id, limit=0).job.imported
    return added
