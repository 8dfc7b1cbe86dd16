"""MARC21 bibliographic records to ``BibData`` and back.

Mapping rules (reading):

- title: 245 $a $b $n $p (``a : b. n, p``) without ISBD punctuation; when an 880 field linked
  by $6 carries the vernacular 245 (LC's CJK records), the vernacular is the title and the
  romanised 245 goes first into ``other_titles``; then 246 and 740 $a. 245 $c: responsibility.
- contributors: 100/110 (role from $e/$4, else author), then 700/710 (role from $e/$4, else
  contributor; name-title entries with $t are works, not people); a linked 880 replaces the
  romanised name with the vernacular one. Corporate names join $a $b.
- imprint: 264 with second indicator 1, else 260: $a place, $b publisher (from the linked 880
  when present); year = first 4-digit year in $c, else 008/07-10.
- 250 $a $b edition; 020 $a ISBNs as written; language 008/35-37, else 041 $a; subjects from
  600/610/611/630/650/651 (subdivisions $v $x $y $z joined with `` -- ``); 084 with $2
  clc/cn → clc; call number from 090, else 050 ($a $b joined by a space), else the first item's;
  520 $a summary; 490 $a ($v after `` ; ``), else 830; 300 extent; format from leader/06-07 and
  007; 856 $u whose $3/$y/$z mentions a cover → cover_url; 001, 003 and the first OCLC 035 →
  source_ids.
- items: 852 ($b branch, $c shelf, $h $i call number, $p barcode) and Koha 952 ($a or $b branch,
  $c shelf, $o call number, $p barcode, $y item type, $g or $v price). A copy without barcode is
  skipped (with a warning for 952).

Writing produces a UTF-8 MARC21 record that reads back to the same ``BibData``; items are written
as 952 fields because 852 has no place for item type and price.
"""

from __future__ import annotations

from shulian.catalog.bib import BibData, Contributor, Format, ItemData, Role
from shulian.catalog.marc.model import RawField, RawRecord, RecordError
from shulian.catalog.marc.text import clean, first_year, present, protect, role_from_term

__all__ = ["MARC21_TAGS", "from_marc21", "to_marc21"]

# The tags ``from_marc21`` reads: the reader builds only these fields.
MARC21_TAGS = frozenset(
    {
        "001",
        "003",
        "007",
        "008",
        "020",
        "035",
        "041",
        "050",
        "084",
        "090",
        "100",
        "110",
        "245",
        "246",
        "250",
        "260",
        "264",
        "300",
        "490",
        "520",
        "600",
        "610",
        "611",
        "630",
        "650",
        "651",
        "700",
        "710",
        "740",
        "830",
        "852",
        "856",
        "880",
        "952",
    }
)

_NAME_TAGS = frozenset({"100", "110", "700", "710"})
_SUBJECT_TAGS = ("600", "610", "611", "630", "650", "651")
_SUBDIVISIONS = frozenset("vxyz")
_NOT_MAIN = frozenset("vxyz0123456789e4")
_CLC_SOURCES = frozenset({"clc", "cn", "clc/c", "ztflh"})


def _link_key(f: RawField) -> str | None:
    link = f.get("6")
    return link[:6] if link else None  # "880-01" or "245-01"


def from_marc21(rec: RawRecord, warnings: list[str] | None = None) -> BibData:
    """Map a MARC21 ``RawRecord`` to ``BibData``; raises ``RecordError`` when it has no title."""
    by_tag: dict[str, list[RawField]] = {}
    for f in rec.fields:
        by_tag.setdefault(f.tag, []).append(f)
    vernacular: dict[str, RawField] = {}
    for f in by_tag.get("880", ()):
        link = f.get("6")
        if link and len(link) >= 6:
            vernacular[link[:6]] = f

    def vern(f: RawField) -> RawField:
        key = _link_key(f)
        if key and key.startswith("880") and vernacular:
            return vernacular.get(f.tag + key[3:], f)
        return f

    def control(tag: str) -> str:
        fields = by_tag.get(tag)
        return (fields[0].data or "") if fields else ""

    other_titles: list[str] = []
    title = ""
    responsibility = None
    f245 = by_tag.get("245", [None])[0]
    if f245 is not None:
        v245 = vern(f245)
        title = _title(v245)
        if v245 is not f245:
            roman = _title(f245)
            if roman and roman != title:
                other_titles.append(roman)
        responsibility = clean(v245.get("c")) or clean(f245.get("c")) or None
    if not title:
        raise RecordError("no title (245$a is empty)", control("001").strip() or None)
    for f in (*by_tag.get("246", ()), *by_tag.get("740", ())):
        alt = clean(" ".join(v for c, v in f.subfields if c in "abnp"))
        if alt and alt not in other_titles and alt != title:
            other_titles.append(alt)

    contributors: list[Contributor] = []
    for f in rec.fields:  # record order: 1XX come first, and 7XX order is meaningful
        if f.tag not in _NAME_TAGS or f.data is not None or f.get("t"):
            continue
        corporate = f.tag[1] == "1"
        v = vern(f)
        name = clean(" ".join(v.get_all("a") + (v.get_all("b") if corporate else [])))
        if name:
            default = Role.AUTHOR if f.tag[0] == "1" else Role.CONTRIBUTOR
            role = role_from_term(f.get("e")) or role_from_term(f.get("4")) or default
            contributors.append(Contributor(name, role, corporate))

    place = publisher = None
    year = None
    imprint = next((f for f in by_tag.get("264", ()) if f.ind2 == "1"), None)
    if imprint is None:
        imprint = next(iter(by_tag.get("260", ())), None)
    if imprint is not None:
        v = vern(imprint)
        place = clean(v.get("a")) or clean(imprint.get("a")) or None
        publisher = clean(v.get("b")) or clean(imprint.get("b")) or None
        year = first_year(imprint.get("c")) or first_year(v.get("c"))
    f008 = control("008")
    if year is None and f008[7:11].isdigit():
        year = int(f008[7:11])

    language = f008[35:38].strip().lower() if len(f008) >= 38 else ""
    if not (len(language) == 3 and language.isalpha()):
        language = ""
        for f in by_tag.get("041", ()):
            code = (f.get("a") or "")[:3].lower()
            if code.isalpha() and len(code) == 3:
                language = code
                break

    subjects: list[str] = []
    for tag in _SUBJECT_TAGS:
        for f in by_tag.get(tag, ()):
            main = " ".join(clean(v) for c, v in f.subfields if c not in _NOT_MAIN)
            subs = [clean(v) for c, v in f.subfields if c in _SUBDIVISIONS]
            subject = " -- ".join(s for s in [clean(main), *subs] if s)
            if subject and subject not in subjects:
                subjects.append(subject)

    clc = None
    for f in by_tag.get("084", ()):
        if (f.get("2") or "").strip().lower() in _CLC_SOURCES and f.get("a"):
            clc = clean(f.get("a"), period=False)
            break

    items = _items(by_tag, warnings)
    call_number = None
    for tag in ("090", "050"):
        for f in by_tag.get(tag, ()):
            call_number = " ".join(x for x in (clean(f.get("a"), period=False), f.get("b")) if x)
            call_number = call_number.strip() or None
            if call_number:
                break
        if call_number:
            break
    if not call_number:
        call_number = next((i.call_number for i in items if i.call_number), None)

    edition = None
    if "250" in by_tag:
        f = by_tag["250"][0]
        edition = clean(" ".join(x for x in (f.get("a"), f.get("b")) if x), period=False) or None

    series = None
    for tag in ("490", "830"):
        for f in by_tag.get(tag, ()):
            name, vol = clean(f.get("a")), clean(f.get("v"))
            series = f"{name} ; {vol}" if name and vol else name or None
            break
        if series:
            break

    extent = None
    if "300" in by_tag:
        extent = clean(
            " ".join(v for c, v in by_tag["300"][0].subfields if c in "abce"), period=False
        )

    summary = None
    if "520" in by_tag:
        summary = clean(by_tag["520"][0].get("a"), period=False) or None

    cover_url = None
    for f in by_tag.get("856", ()):
        note = " ".join(f.get_all("3") + f.get_all("y") + f.get_all("z")).lower()
        if f.get("u") and ("cover" in note or "封面" in note):
            cover_url = (f.get("u") or "").strip()
            break

    source_ids: dict[str, str] = {}
    for tag in ("001", "003"):
        value = control(tag).strip()
        if value:
            source_ids[tag] = value
    ids035 = [a.strip() for f in by_tag.get("035", ()) for a in f.get_all("a")]
    oclc = next((i for i in ids035 if i.startswith(("(OCoLC)", "ocm", "ocn", "on"))), None)
    if oclc or ids035:
        source_ids["035"] = oclc or ids035[0]

    return BibData(
        title=title,
        other_titles=other_titles,
        responsibility=responsibility,
        contributors=contributors,
        publisher=publisher,
        place=place,
        year=year,
        edition=edition,
        isbns=[a.strip() for f in by_tag.get("020", ()) for a in f.get_all("a") if a.strip()],
        language=language or None,
        subjects=subjects,
        clc=clc,
        call_number=call_number,
        summary=summary,
        series=series,
        extent=extent or None,
        format=_format(rec.leader, by_tag),
        cover_url=cover_url,
        source_ids=source_ids,
        items=items,
    )


def _title(f: RawField) -> str:
    parts = [(c, clean(v)) for c, v in f.subfields if c in "abnp"]
    text = ""
    for code, value in parts:
        if not value:
            continue
        if not text:
            text = value
        elif code == "b":
            text += " : " + value
        elif code == "n":
            text += ". " + value
        else:
            text += ", " + value if text[-1].isdigit() else ". " + value
    return text


def _format(leader: str, by_tag: dict[str, list[RawField]]) -> Format:
    kind, level = leader[6:7], leader[7:8]
    if kind == "i":
        return Format.AUDIOBOOK
    if kind == "g":
        return Format.VIDEO
    if kind == "m":
        return Format.EBOOK
    if level == "s":
        return Format.PERIODICAL
    online = any((f.data or "").startswith("cr") for f in by_tag.get("007", ()))
    if kind in ("a", "t") and online:
        return Format.EBOOK
    return Format.BOOK


def _items(by_tag: dict[str, list[RawField]], warnings: list[str] | None) -> list[ItemData]:
    items: list[ItemData] = []
    for f in by_tag.get("852", ()):
        barcode = (f.get("p") or "").strip()
        if barcode:
            call = " ".join(x.strip() for x in (f.get("h"), f.get("i")) if x and x.strip())
            items.append(
                ItemData(
                    barcode=barcode,
                    branch=(f.get("b") or "").strip() or None,
                    call_number=call or None,
                    shelf=(f.get("c") or "").strip() or None,
                )
            )
    for f in by_tag.get("952", ()):
        barcode = (f.get("p") or "").strip()
        if not barcode:
            if warnings is not None:
                warnings.append("a 952 copy without barcode ($p) was skipped")
            continue
        items.append(
            ItemData(
                barcode=barcode,
                branch=(f.get("a") or f.get("b") or "").strip() or None,
                call_number=(f.get("o") or "").strip() or None,
                shelf=(f.get("c") or "").strip() or None,
                item_type=(f.get("y") or "").strip() or None,
                price=(f.get("g") or f.get("v") or "").strip() or None,
            )
        )
    return items


_LEADER_KIND = {
    Format.BOOK: "am",
    Format.EBOOK: "am",
    Format.AUDIOBOOK: "im",
    Format.VIDEO: "gm",
    Format.PERIODICAL: "as",
}


def to_marc21(bib: BibData) -> RawRecord:
    """Build a MARC21 ``RawRecord`` (UTF-8) carrying every field ``from_marc21`` reads back."""
    fields: list[RawField] = []
    for tag in ("001", "003"):
        if bib.source_ids.get(tag):
            fields.append(RawField(tag, data=bib.source_ids[tag]))
    if bib.format is Format.EBOOK:
        fields.append(RawField("007", data="cr |||||||||||"))
    f008 = [" "] * 40
    if bib.year:
        f008[6:11] = f"s{bib.year:04d}"
    else:
        f008[6] = "n"
    if bib.format is Format.EBOOK:
        f008[23] = "o"
    f008[35:38] = (bib.language or "   ")[:3].ljust(3)
    f008[39] = "d"
    fields.append(RawField("008", data="".join(f008)))
    fields += [RawField("020", subfields=[("a", i)]) for i in bib.isbns]
    if bib.source_ids.get("035"):
        fields.append(RawField("035", subfields=[("a", bib.source_ids["035"])]))
    if bib.clc:
        fields.append(RawField("084", subfields=[("a", bib.clc), ("2", "clc")]))
    if bib.call_number:
        cls, _, cutter = bib.call_number.partition(" ")
        fields.append(RawField("090", subfields=present(("a", cls), ("b", cutter))))
    people = list(bib.contributors)
    main = people.pop(0) if people and people[0].role is Role.AUTHOR else None
    if main is not None:
        tag = "110" if main.corporate else "100"
        fields.append(RawField(tag, "1", " ", [("a", protect(main.name)), ("e", main.role.value)]))
    title, _, subtitle = (protect(x) for x in bib.title.partition(" : "))
    resp = protect(bib.responsibility) if bib.responsibility else None
    fields.append(
        RawField(
            "245",
            "1" if main else "0",
            "0",
            present(
                ("a", title + (" :" if subtitle else " /" if resp else "")),
                ("b", subtitle + (" /" if resp else "") if subtitle else None),
                ("c", resp),
            ),
        )
    )
    fields += [RawField("246", "3", " ", [("a", protect(t))]) for t in bib.other_titles]
    if bib.edition:
        fields.append(RawField("250", subfields=[("a", bib.edition)]))
    if bib.place or bib.publisher or bib.year:
        fields.append(
            RawField(
                "260",
                subfields=present(
                    ("a", protect(bib.place) if bib.place else None),
                    ("b", protect(bib.publisher) if bib.publisher else None),
                    ("c", str(bib.year) if bib.year else None),
                ),
            )
        )
    if bib.extent:
        fields.append(RawField("300", subfields=[("a", bib.extent)]))
    if bib.series:
        name, _, vol = (protect(x) for x in bib.series.partition(" ; "))
        fields.append(RawField("490", "0", " ", present(("a", name), ("v", vol))))
    if bib.summary:
        fields.append(RawField("520", subfields=[("a", bib.summary)]))
    for subject in bib.subjects:
        head, *subs = (protect(x) for x in subject.split(" -- "))
        fields.append(RawField("650", " ", "4", [("a", head)] + [("x", s) for s in subs]))
    for person in people:
        tag = "710" if person.corporate else "700"
        fields.append(
            RawField(tag, "1", " ", [("a", protect(person.name)), ("e", person.role.value)])
        )
    if bib.cover_url:
        fields.append(RawField("856", "4", "2", [("3", "Cover image"), ("u", bib.cover_url)]))
    for item in bib.items:
        fields.append(
            RawField(
                "952",
                subfields=present(
                    ("a", item.branch),
                    ("c", item.shelf),
                    ("o", item.call_number),
                    ("p", item.barcode),
                    ("y", item.item_type),
                    ("g", item.price),
                ),
            )
        )
    kind = _LEADER_KIND[bib.format]
    return RawRecord(f"00000n{kind} a2200000 i 4500", fields)
