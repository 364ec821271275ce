"""Multipart uploads through ApiClient: predictable bytes, the same bytes on every attempt."""

from __future__ import annotations

import pytest
import responses

from aftersales.http import ApiClient
from aftersales.multipart import FilePart, encode_multipart, new_boundary

BASE = "https://api.example.test"


def test_body_is_fields_then_files_each_closed_by_crlf() -> None:
    body, ctype = encode_multipart(
        {"a": "1", "名": "值"}, {"f": FilePart("x.bin", b"\x00\x01", "application/x-test")},
        "BND")
    assert ctype == "multipart/form-data; boundary=BND"
    assert body == (
        b'--BND\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        + '--BND\r\nContent-Disposition: form-data; name="名"\r\n\r\n值\r\n'.encode()
        + b'--BND\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\n'
        b"Content-Type: application/x-test\r\n\r\n\x00\x01\r\n--BND--\r\n")


@pytest.mark.parametrize("bad", ['a"b', "a\r\nb"])
def test_names_that_could_break_a_header_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="quotes or line breaks"):
        encode_multipart({bad: "1"}, {}, "B")
    with pytest.raises(ValueError, match="quotes or line breaks"):
        FilePart(bad, b"")


def test_a_boundary_inside_the_content_is_refused() -> None:
    with pytest.raises(ValueError, match="boundary"):
        encode_multipart({}, {"f": FilePart("x", b"..--B..")}, "B")
    assert new_boundary() != new_boundary()


def test_an_upload_retried_after_a_refusal_sends_identical_bytes(
    http: responses.RequestsMock,
) -> None:
    sleeps: list[float] = []
    client = ApiClient("t", BASE, sleep=sleeps.append)
    http.post(f"{BASE}/up", status=429, headers={"Retry-After": "1"})
    http.post(f"{BASE}/up", json={"ok": True})
    got = client.post("up", params={"q": "1"}, data={"k": "v"},
                      files={"file": FilePart("a.png", b"\x89PNG....", "image/png")})
    assert got == {"ok": True}
    first, second = (c.request for c in http.calls)
    assert first.body == second.body
    assert first.headers["Content-Type"] == second.headers["Content-Type"]
    assert first.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert first.url == f"{BASE}/up?q=1"
    assert sleeps == [1.0]


def test_files_do_not_mix_with_json(http: responses.RequestsMock) -> None:
    client = ApiClient("t", BASE)
    with pytest.raises(TypeError, match="files go with form fields"):
        client.post("up", json={"a": 1}, files={"f": FilePart("a", b"1")})
    assert len(http.calls) == 0
