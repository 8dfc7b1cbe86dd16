from __future__ import annotations

import pytest

from shulian.catalog.isbn import InvalidIsbn, isbn10, isbn_variants, normalize_isbn


class TestNormalizeIsbn:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("9787020002207", "9787020002207"),
            ("978-7-02-000220-7", "9787020002207"),
            ("9787020002207 (pbk.)", "9787020002207"),
            ("7-02-000220-X (精装)", "9787020002207"),
            ("ISBN 7-02-000220-X", "9787020002207"),
            ("ISBN 978 7 02 000220 7", "9787020002207"),
            ("0-306-40615-2", "9780306406157"),
            ("0253325528 (alk. paper)", "9780253325525"),
            ("９７８７０２０００２２０７", "9787020002207"),
            ("9787020002207:CNY45.00", "9787020002207"),
        ],
    )
    def test_returns_isbn13_digits(self, raw: str, expected: str) -> None:
        assert normalize_isbn(raw) == expected

    def test_accepts_lowercase_x_check_digit(self) -> None:
        assert normalize_isbn("702000220x") == "9787020002207"

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            ("0306406153", "bad check digit 3 (expected 2)"),
            ("9787020002208", "bad check digit 8 (expected 7)"),
            ("702000220-1", "bad check digit 1 (expected X)"),
            ("12345", "wrong length: 5 digits"),
            ("978702000220A", "not digits"),
            ("abc", "not digits"),
            ("1234567890123", "starts with 978 or 979"),
            ("X123456789", "nine digits and a check digit"),
        ],
    )
    def test_rejects_with_the_value_and_reason(self, raw: str, reason: str) -> None:
        with pytest.raises(InvalidIsbn) as info:
            normalize_isbn(raw)
        assert reason in info.value.detail
        assert raw in info.value.detail
        assert info.value.status_code == 400
        assert info.value.template == "Invalid ISBN {value}: {reason}"


class TestIsbnVariants:
    def test_gives_13_and_10_forms(self) -> None:
        assert isbn_variants("978-7-02-000220-7") == ["9787020002207", "702000220X"]

    def test_979_isbn_has_no_10_form(self) -> None:
        assert isbn10("9791032305690") is None
        assert isbn_variants("979-10-323-0569-0") == ["9791032305690"]

    def test_isbn10_recomputes_check_digit(self) -> None:
        assert isbn10("9780306406157") == "0306406152"
