"""The catalogue's JSON API: who may do what, and what readers see."""

from __future__ import annotations

import io
import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shulian.catalog.bib import BibData, ItemData
from shulian.catalog.marc import write_records
from tests.factories.accounts import bearer, make_staff
from tests.factories.catalog import make_item, make_record
from tests.factories.consortium import make_network

RECORD = {
    "title": "呐喊",
    "contributors": [{"name": "鲁迅", "role": "author"}],
    "isbns": ["978-7-02-000220-7"],
    "year": 1973,
    "language": "chi",
    "clc": "I210.6",
}


def _staff(session: Session, client: TestClient) -> dict[str, dict[str, str]]:
    make_network(session)
    for role in ("cataloguer", "reviewer", "publisher"):
        make_staff(session, roles=[role], username=role)
    return {role: bearer(client, "staff", role) for role in ("cataloguer", "reviewer", "publisher")}


class TestWorkflowOverHttp:
    def test_entered_reviewed_published_then_readers_see_it(
        self, session: Session, client: TestClient
    ) -> None:
        h = _staff(session, client)
        created = client.post("/api/v1/catalog/records", json=RECORD, headers=h["cataloguer"])
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        assert created.json()["isbns"] == ["9787020002207"]
        assert client.get(f"/api/v1/catalog/records/{rid}").status_code == 404
        assert client.post(
            f"/api/v1/catalog/records/{rid}/submit", headers=h["cataloguer"]
        ).is_success
        approve = client.post(
            f"/api/v1/catalog/records/{rid}/approve", json={}, headers=h["cataloguer"]
        )
        assert approve.status_code == 403
        assert approve.json()["detail"] == "Missing permission: catalog.record.review"
        assert client.post(
            f"/api/v1/catalog/records/{rid}/approve", json={}, headers=h["reviewer"]
        ).is_success
        assert client.post(
            f"/api/v1/catalog/records/{rid}/publish", headers=h["publisher"]
        ).is_success
        page = client.get(f"/api/v1/catalog/records/{rid}")
        assert page.status_code == 200
        assert [c for c, _ in page.json()["clc_path"]][-1] == "I210.6"

    def test_a_bad_isbn_is_refused_with_the_reason(
        self, session: Session, client: TestClient
    ) -> None:
        h = _staff(session, client)
        bad = {**RECORD, "isbns": ["978-7-02-000220-8"]}
        r = client.post("/api/v1/catalog/records", json=bad, headers=h["cataloguer"])
        assert r.status_code == 400
        assert r.json()["error"] == "InvalidRecord" and "978-7-02-000220-8" in r.json()["detail"]

    def test_returning_without_a_comment_is_refused(
        self, session: Session, client: TestClient
    ) -> None:
        h = _staff(session, client)
        rid = client.post("/api/v1/catalog/records", json=RECORD, headers=h["cataloguer"]).json()[
            "id"
        ]
        client.post(f"/api/v1/catalog/records/{rid}/submit", headers=h["cataloguer"])
        r = client.post(f"/api/v1/catalog/records/{rid}/return", json={}, headers=h["reviewer"])
        assert (r.status_code, r.json()["error"]) == (400, "CommentRequired")


class TestReaderViews:
    def test_scan_an_item_barcode_or_isbn(self, session: Session, client: TestClient) -> None:
        make_network(session)
        record = make_record(session, publish=True, isbns=["9787020002207"])
        item = make_item(session, record)
        assert client.get(f"/api/v1/catalog/scan/{item.barcode}").json()["record_id"] == record.id
        assert client.get("/api/v1/catalog/scan/7-02-000220-X").json()["matched"] == "isbn"
        missing = client.get("/api/v1/catalog/scan/0000000000000")
        assert (missing.status_code, missing.json()["error"]) == (404, "NothingMatchesScan")

    def test_clc_browse_lists_sub_classes_and_books(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        record = make_record(session, publish=True, clc="I246.5")
        body = client.get("/api/v1/catalog/clc/I24").json()
        assert body["name"] == "小说"
        assert [p["code"] for p in body["path"]] == ["I", "I2", "I24"]
        assert "I246" in [c["code"] for c in body["children"]]
        assert [r["id"] for r in body["records"]["items"]] == [record.id]
        assert client.get("/api/v1/catalog/clc/QQ9").status_code == 404


class TestDigitalVersions:
    def test_a_link_and_an_uploaded_file_show_on_the_record_and_the_file_downloads(
        self, session: Session, client: TestClient
    ) -> None:
        h = _staff(session, client)
        record = make_record(session, publish=True)
        link = client.post(
            f"/api/v1/catalog/records/{record.id}/digital",
            json={"kind": "ebook", "label": "电子书", "url": "https://ebooks.example.org/1"},
            headers=h["cataloguer"],
        )
        assert link.status_code == 201, link.text
        upload = client.post(
            f"/api/v1/catalog/records/{record.id}/digital/upload",
            data={"kind": "audiobook", "label": "有声书"},
            files={"file": ("狂人日记.mp3", b"ID3 fake audio bytes", "audio/mpeg")},
            headers=h["cataloguer"],
        )
        assert upload.status_code == 201, upload.text
        assert upload.json()["size_bytes"] == 20 and upload.json()["url"] is None
        digital = client.get(f"/api/v1/catalog/records/{record.id}").json()["digital"]
        assert [d["kind"] for d in digital] == ["ebook", "audiobook"]
        got = client.get(f"/api/v1/catalog/digital/{upload.json()['id']}/file")
        assert got.content == b"ID3 fake audio bytes"
        assert got.headers["content-type"] == "audio/mpeg"


class TestImportUpload:
    def test_upload_runs_in_the_background_and_reports(
        self, session: Session, client: TestClient
    ) -> None:
        h = _staff(session, client)
        buf = io.BytesIO()
        write_records(
            [
                BibData(title="边城", items=[ItemData(barcode="U1", branch="CEN")]),
                BibData(title=""),
            ],
            buf,
            format="csv",
        )
        r = client.post(
            "/api/v1/catalog/imports",
            files={"file": ("batch.csv", buf.getvalue(), "text/csv")},
            headers=h["cataloguer"],
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        for _ in range(50):
            report = client.get(f"/api/v1/catalog/imports/{job_id}", headers=h["cataloguer"]).json()
            if report["job"]["status"] == "done":
                break
            time.sleep(0.1)
        assert report["job"]["imported"] == 1 and report["job"]["rejected"] == 1
        assert report["notes"][0]["number"] == 2 and report["notes"][0]["rejected"]


class TestOddInputFromTheContractRun:
    """Input schemathesis sent that answered 500 (or failed later, in the background)."""

    def test_an_import_in_an_unknown_encoding_is_refused_before_it_starts(
        self, session: Session, client: TestClient
    ) -> None:
        h = _staff(session, client)["cataloguer"]
        r = client.post(
            "/api/v1/catalog/imports",
            files={"file": ("batch.csv", b"title\n", "text/csv")},
            data={"encoding": "null"},
            headers=h,
        )
        assert r.status_code == 400 and r.json()["error"] == "UnknownEncoding"
        assert client.get("/api/v1/catalog/imports", headers=h).json() == []

    def test_null_for_an_items_branch_type_or_status_leaves_them_as_they_are(
        self, session: Session, client: TestClient
    ) -> None:
        make_network(session)
        make_staff(session, roles=["admin"], username="boss")
        item = make_item(session, make_record(session), branch="B01")
        r = client.patch(
            f"/api/v1/catalog/items/{item.barcode}",
            json={"branch": None, "item_type": None, "status": None, "shelf": None},
            headers=bearer(client, "staff", "boss"),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["branch_code"], body["item_type"], body["status"]) == (
            "B01",
            "book",
            "available",
        )
        assert body["shelf"] is None

    def test_a_contributor_named_with_blanks_only_is_refused(
        self, session: Session, client: TestClient
    ) -> None:
        h = _staff(session, client)["cataloguer"]
        body = {**RECORD, "contributors": [{"name": "\u001f "}]}
        r = client.post("/api/v1/catalog/records", json=body, headers=h)
        assert r.status_code == 422, r.text
        assert "contributors.0.name" in r.json()["detail"]

    def test_a_web_address_longer_than_its_column_is_refused(
        self, session: Session, client: TestClient
    ) -> None:
        # PostgreSQL refuses a value past a VARCHAR's length (SQLite keeps it): checked first.
        h = _staff(session, client)["cataloguer"]
        long_url = "https://" + "a" * 60 + "." + ("b" * 60 + ".") * 16 + "cn"
        r = client.post(
            "/api/v1/catalog/records", json={**RECORD, "cover_url": long_url}, headers=h
        )
        assert r.status_code == 422, r.text
        assert "cover_url" in r.json()["detail"]
        record = client.post("/api/v1/catalog/records", json=RECORD, headers=h).json()
        link = {"kind": "ebook", "label": "全文", "url": long_url}
        r = client.post(f"/api/v1/catalog/records/{record['id']}/digital", json=link, headers=h)
        assert r.status_code == 422 and "url" in r.json()["detail"]
