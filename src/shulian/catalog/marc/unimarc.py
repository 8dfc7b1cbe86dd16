"""UNIMARC and CNMARC (the Chinese national profile) bibliographic records to ``BibData`` and back.

Mapping rules (reading):

- title: 200 $a (repeated $a joined by `` ; ``), `` : `` $e, ``. `` $h, ``. `` $i; non-sort
  markers dropped. Parallel titles 200 $d, then 510/517 $a → other_titles. Responsibility: 200 $f
  then each $g, joined by `` ; ``.
- 010 $a ISBNs as written; 010 $d price becomes the price of copies that have none.
- 100 $a/9-12 is the year when 210 $d has none; 101 $a language; 205 $a edition; 210 (or 214)
  $a place, $c publisher, $d year; 215 $a $c $d $e extent; 225 $a series (`` ; `` $v); 330 $a
  summary; 600/601/606/607 subjects ($a then $j $x $y $z joined by `` -- ``); 690 $a (or 686 $a
  with $2 clc) → clc; 856 $u mentioning a cover → cover_url; 001 and 003 → source_ids.
- names: 700/701/710/711 (author unless $4 says otherwise) and 702/712 (contributor unless $4
  says otherwise), in record order; a name is $a, then $b (``Asimov`` + ``, Isaac``).
  Relator codes: 070 author, 340 editor, 730 translator, 440 illustrator, 220 compiler.
- format: leader/06 ``l`` ebook, ``i`` audiobook, ``g`` video; leader/07 ``s`` periodical.
- copies (CNMARC 905): $a holding institution/branch, $b barcode (登录号), $c location → shelf,
  $d class number and $e book number → call number ``d/e`` (索书号); the first 905 with $d gives
  the record's call number. Copies without barcode are skipped.

Writing produces a UNIMARC record in UTF-8 (100 $a/26-27 ``50``) that reads back to the same
``BibData``; item type and per-copy prices other than the first have no CNMARC field and are not
written.
"""

from __future__ import annotations

from shulian.catalog.bib import BibData, Contributor, Format, ItemData, Role
from shulian.catalog.marc.model import RawField, RawRecord, RecordError
from shulian.catalog.marc.text import (
    clean,
    first_year,
    present,
    protect,
    role_from_code,
    unimarc_code,
)

__all__ = ["UNIMARC_TAGS", "from_unimarc", "to_unimarc"]

# The tags ``from_unimarc`` reads: the reader builds only these fields.
UNIMARC_TAGS = frozenset(
    {
        "001",
        "003",
        "010",
        "100",
        "101",
        "200",
        "205",
        "210",
        "214",
        "215",
        "225",
        "330",
        "510",
        "517",
        "600",
        "601",
        "606",
        "607",
        "686",
        "690",
        "700",
        "701",
        "702",
        "710",
        "711",
        "712",
        "856",
        "905",
    }
)

_NAMES = {
    "700": (False, Role.AUTHOR),
    "701": (False, Role.AUTHOR),
    "702": (False, Role.CONTRIBUTOR),
    "710": (True, Role.AUTHOR),
    "711": (True, Role.AUTHOR),
    "712": (True, Role.CONTRIBUTOR),
}
_SUBJECTS = ("600", "601", "606", "607")


def _name(f: RawField) -> str:
    a, b = clean(" ".join(f.get_all("a"))), (f.get("b") or "").strip()
    if not b:
        return a
    b = clean(b.lstrip(", "))
    return f"{a}, {b}" if a and b else a or b


def from_unimarc(rec: RawRecord, warnings: list[str] | None = None) -> BibData:
    """Map a UNIMARC/CNMARC ``RawRecord`` to ``BibData``; raises ``RecordError`` without title."""
    by_tag: dict[str, list[RawField]] = {}
    for f in rec.fields:
        by_tag.setdefault(f.tag, []).append(f)

    def first(tag: str) -> RawField | None:
        fields = by_tag.get(tag)
        return fields[0] if fields else None

    source_ids = {t: (rec.control(t) or "").strip() for t in ("001", "003")}
    source_ids = {k: v for k, v in source_ids.items() if v}
    f200 = first("200")
    title = ""
    other_titles: list[str] = []
    responsibility = None
    if f200 is not None:
        title = " ; ".join(clean(a) for a in f200.get_all("a") if clean(a))
        for code, sep in (("e", " : "), ("h", ". "), ("i", ". ")):
            part = clean(f200.get(code))
            if part and title:
                title += sep + part
        other_titles += [clean(d) for d in f200.get_all("d") if clean(d)]
        resp = [clean(v) for c, v in f200.subfields if c in "fg" and clean(v)]
        responsibility = " ; ".join(resp) or None
    if not title:
        raise RecordError("no title (200$a is empty)", source_ids.get("001"))
    for f in (*by_tag.get("510", ()), *by_tag.get("517", ())):
        alt = clean(f.get("a"))
        if alt and alt not in other_titles and alt != title:
            other_titles.append(alt)

    contributors: list[Contributor] = []
    for f in rec.fields:
        if f.tag in _NAMES and f.data is None:
            corporate, default = _NAMES[f.tag]
            name = _name(f)
            if name:
                role = role_from_code(f.get("4")) or default
                contributors.append(Contributor(name, role, corporate))

    place = publisher = None
    year = None
    imprint = first("210") or first("214")
    if imprint is not None:
        place = clean(imprint.get("a")) or None
        publisher = clean(imprint.get("c")) or None
        year = first_year(imprint.get("d"))
    f100 = first("100")
    general = (f100.get("a") or "") if f100 else ""
    if year is None and general[9:13].isdigit():
        year = int(general[9:13])

    f101 = first("101")
    language = (f101.get("a") or "")[:3].lower() if f101 else ""

    subjects: list[str] = []
    for tag in _SUBJECTS:
        for f in by_tag.get(tag, ()):
            parts = [clean(v) for c, v in f.subfields if c in "abcdfjxyz" and clean(v)]
            subject = " -- ".join(parts)
            if subject and subject not in subjects:
                subjects.append(subject)

    clc = None
    f690 = first("690")
    if f690 is not None and f690.get("a"):
        clc = clean(f690.get("a"), period=False)
    else:
        for f in by_tag.get("686", ()):
            if (f.get("2") or "").lower() in ("clc", "cn") and f.get("a"):
                clc = clean(f.get("a"), period=False)
                break

    price = None
    isbns: list[str] = []
    for f in by_tag.get("010", ()):
        isbns += [a.strip() for a in f.get_all("a") if a.strip()]
        price = price or (f.get("d") or "").strip() or None

    call_number = None
    items: list[ItemData] = []
    for f in by_tag.get("905", ()):
        call = "/".join(x.strip() for x in (f.get("d"), f.get("e")) if x and x.strip()) or None
        call_number = call_number or call
        barcode = (f.get("b") or "").strip()
        if barcode:
            items.append(
                ItemData(
                    barcode=barcode,
                    branch=(f.get("a") or "").strip() or None,
                    call_number=call,
                    shelf=(f.get("c") or "").strip() or None,
                    price=price,
                )
            )

    f215 = first("215")
    extent = None
    if f215 is not None:
        extent = clean(" ".join(v for c, v in f215.subfields if c in "acde"), period=False)
    series = None
    f225 = first("225")
    if f225 is not None:
        name, vol = clean(f225.get("a")), clean(f225.get("v"))
        series = f"{name} ; {vol}" if name and vol else name or None
    f205 = first("205")
    f330 = first("330")
    cover_url = None
    for f in by_tag.get("856", ()):
        note = " ".join(f.get_all("3") + f.get_all("y") + f.get_all("z")).lower()
        if f.get("u") and ("cover" in note or "封面" in note):
            cover_url = (f.get("u") or "").strip()
            break

    kind, level = rec.leader[6:7], rec.leader[7:8]
    fmt = {"l": Format.EBOOK, "i": Format.AUDIOBOOK, "g": Format.VIDEO}.get(kind, Format.BOOK)
    if fmt is Format.BOOK and level == "s":
        fmt = Format.PERIODICAL
    return BibData(
        title=title,
        other_titles=other_titles,
        responsibility=responsibility,
        contributors=contributors,
        publisher=publisher,
        place=place,
        year=year,
        edition=clean(f205.get("a"), period=False) or None if f205 else None,
        isbns=isbns,
        language=language if len(language) == 3 and language.isalpha() else None,
        subjects=subjects,
        clc=clc,
        call_number=call_number,
        summary=clean(f330.get("a"), period=False) or None if f330 else None,
        series=series,
        extent=extent or None,
        format=fmt,
        cover_url=cover_url,
        source_ids=source_ids,
        items=items,
    )


_KIND = {
    Format.BOOK: "am",
    Format.EBOOK: "lm",
    Format.AUDIOBOOK: "im",
    Format.VIDEO: "gm",
    Format.PERIODICAL: "as",
}


def _call_subfields(call: str | None) -> list[tuple[str, str]]:
    cls, _, book = (call or "").partition("/")
    return present(("d", cls), ("e", book))


def to_unimarc(bib: BibData) -> RawRecord:
    """Build a UNIMARC/CNMARC ``RawRecord`` (UTF-8) that ``from_unimarc`` reads back."""
    fields: list[RawField] = []
    for tag in ("001", "003"):
        if bib.source_ids.get(tag):
            fields.append(RawField(tag, data=bib.source_ids[tag]))
    price = next((i.price for i in bib.items if i.price), None)
    for n, isbn in enumerate(bib.isbns):
        fields.append(
            RawField("010", subfields=present(("a", isbn), ("d", price if n == 0 else None)))
        )
    if price and not bib.isbns:
        fields.append(RawField("010", subfields=[("d", price)]))
    date1 = f"{bib.year:04d}" if bib.year else "    "
    lang = (bib.language or "chi")[:3]
    general = f"||||||||d{date1}    k  y0{lang}y50      ea"
    fields.append(RawField("100", subfields=[("a", general)]))
    if bib.language:
        fields.append(RawField("101", "0", " ", [("a", bib.language)]))
    title, _, other = (protect(x) for x in bib.title.partition(" : "))
    resp = [protect(r) for r in bib.responsibility.split(" ; ")] if bib.responsibility else []
    sub200 = present(("a", title), ("e", other))
    sub200 += [("f" if i == 0 else "g", r) for i, r in enumerate(resp)]
    fields.append(RawField("200", "1", " ", sub200))
    if bib.edition:
        fields.append(RawField("205", subfields=[("a", bib.edition)]))
    if bib.place or bib.publisher or bib.year:
        year = str(bib.year) if bib.year else None
        place = protect(bib.place) if bib.place else None
        publisher = protect(bib.publisher) if bib.publisher else None
        sub = present(("a", place), ("c", publisher), ("d", year))
        fields.append(RawField("210", subfields=sub))
    if bib.extent:
        fields.append(RawField("215", subfields=[("a", bib.extent)]))
    if bib.series:
        name, _, vol = (protect(x) for x in bib.series.partition(" ; "))
        fields.append(RawField("225", "2", " ", present(("a", name), ("v", vol))))
    if bib.summary:
        fields.append(RawField("330", subfields=[("a", bib.summary)]))
    fields += [RawField("517", "1", " ", [("a", protect(t))]) for t in bib.other_titles]
    for subject in bib.subjects:
        head, *subs = (protect(x) for x in subject.split(" -- "))
        fields.append(RawField("606", "0", " ", [("a", head)] + [("x", s) for s in subs]))
    if bib.clc:
        fields.append(RawField("690", subfields=[("a", bib.clc)]))
    seen_main = {False: False, True: False}
    for person in bib.contributors:
        corp = person.corporate
        if person.role is Role.AUTHOR:
            tag = ("710" if corp else "700") if not seen_main[corp] else ("711" if corp else "701")
            seen_main[corp] = True
        else:
            tag = "712" if corp else "702"
        a, _, b = (protect(x) for x in person.name.partition(", "))
        code = unimarc_code(person.role)
        fields.append(
            RawField(tag, " ", "1" if not corp else "0", present(("a", a), ("b", b), ("4", code)))
        )
    if bib.cover_url:
        fields.append(RawField("856", "4", " ", [("u", bib.cover_url), ("z", "Cover image")]))
    first_call = bib.items[0].call_number if bib.items else None
    if bib.call_number and bib.call_number != first_call:
        fields.append(RawField("905", subfields=_call_subfields(bib.call_number)))
    for item in bib.items:
        sub = present(("a", item.branch), ("b", item.barcode), ("c", item.shelf))
        fields.append(RawField("905", subfields=sub + _call_subfields(item.call_number)))
    return RawRecord(f"00000n{_KIND[bib.format]} 2200000   450 ", fields)
