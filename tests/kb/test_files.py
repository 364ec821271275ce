"""Knowledge-base files: round trips, and hostile files refused in one line with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from aftersales.app import AfterSales
from aftersales.cli import main
from aftersales.errors import ValidationError
from aftersales.kb import Entry
from aftersales.kb.files import read_entries, write_entries
from aftersales.store.tables.kb import KbEntryRow, KbTermRow

HEADER = "kind,key,question,answer_zh,answer_en,intents,tags,handoff,valid_from,valid_until\n"
GOOD = 'faq,gift,可以包装吗,可以,"Yes, we can",gift,wrap,false,,\n'


@pytest.fixture
def app(sqlite_url: str) -> Iterator[AfterSales]:
    with AfterSales(sqlite_url, marketplaces=[], carriers=[]) as instance:
        yield instance


def _key(entry: Entry) -> tuple[str, str]:
    return entry.store, entry.key


def _counts(app: AfterSales) -> tuple[int, int]:
    with app.store.session() as s:
        return (s.scalar(select(func.count()).select_from(KbEntryRow)) or 0,
                s.scalar(select(func.count()).select_from(KbTermRow)) or 0)


def test_sample_round_trips_through_toml_and_csv_unchanged(app: AfterSales,
                                                          tmp_path: Path) -> None:
    first = app.kb.load_sample()
    assert first["added"] >= 50
    for name in ("kb.toml", "kb.csv"):
        assert app.kb.export_file(tmp_path / name) == first["added"]
        assert sorted(read_entries(tmp_path / name), key=_key) == sorted(app.kb.list(), key=_key)
        again = app.kb.import_file(tmp_path / name)
        assert again == {"added": 0, "updated": 0, "unchanged": first["added"]}


def test_hostile_text_survives_an_export(app: AfterSales, tmp_path: Path) -> None:
    app.kb.add({"key": "odd", "question": 'a "quoted" \\ back\nslash \x7f del, comma',
                "answer_en": "=HYPERLINK(1)\r\n\t[[faq]]", "tags": ["x"]})
    for name in ("odd.toml", "odd.csv"):
        write_entries(tmp_path / name, app.kb.list())
        assert read_entries(tmp_path / name) == app.kb.list()


def _file(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


HOSTILE: list[tuple[str, str | bytes, str]] = [
    ("gbk.csv", (HEADER + GOOD).encode("gbk"), "not UTF-8"),
    ("empty.csv", b"", "empty"),
    ("nul.csv", HEADER + GOOD + "\x00", "NUL"),
    ("unknown.csv", "key,question,colour\nk,q,red\n", "unknown column 'colour'"),
    ("nokey.csv", "question,answer_zh\nq,a\n", "missing column 'key'"),
    ("twice.csv", "key,key,question\nk,k,q\n", "named twice"),
    ("cells.csv", HEADER + GOOD + "faq,x,q\n", "row 3: 3 cells"),
    ("long.csv", HEADER + GOOD + "faq,k2," + "q" * 200_000 + ",a,,,,,,\n",
     "row 3: a cell longer than"),
    ("longhead.csv", "key," + "q" * 200_000 + "\n", "the header: a cell longer than"),
    ("badkey.csv", HEADER + GOOD + "faq,Bad Key!,q,a,,,,,,\n", "row 3, field 'key'"),
    ("noanswer.csv", HEADER + GOOD + "faq,k2,q,,,,,,,\n", "row 3"),
    ("handoff.csv", HEADER + GOOD + "faq,k2,q,a,,,,maybe,,\n", "row 3, field 'handoff'"),
    ("naive.csv", HEADER + GOOD + "faq,k2,q,a,,,,,2026-01-01T00:00,\n", "row 3"),
    ("window.csv", HEADER + GOOD + "faq,k2,q,a,,,,,2026-02-01T00:00Z,2026-01-01T00:00Z\n",
     "valid_until must be after"),
    ("kind.csv", HEADER + GOOD + "macro,k2,q,a,,,,,,\n", "row 3, field 'kind'"),
    ("dupe.csv", HEADER + GOOD + GOOD, "row 3: key 'gift' repeats row 2"),
    ("var.csv", HEADER + GOOD + "template,t,q,你好{password},,,,,,\n",
     "unknown variable(s) password"),
    ("brace.csv", HEADER + GOOD + "template,t,q,你好{order_id,,,,,,\n", "row 3"),
    ("label.csv", HEADER + GOOD + "faq,k2,q,a,,has space,,,,\n", "field 'intents"),
    ("bad.toml", "[[faq]\nkey=", "not valid TOML"),
    ("gbk.toml", '[[faq]]\nkey = "k"\nquestion = "退款"\nanswer_zh = "好"\n'.encode("gbk"),
     "not UTF-8"),
    ("deep.toml", "a = " + "[" * 2000 + "]" * 2000 + "\n", "nested deeper"),
    ("table.toml", '[faqs]\nkey = "k"\n', "unknown table 'faqs'"),
    ("notarray.toml", '[faq]\nkey = "k"\n', "array of tables"),
    ("extra.toml", '[[faq]]\nkey = "k"\nquestion = "q"\nanswer_zh = "a"\ncolour = "red"\n',
     "[[faq]] #1, field 'colour'"),
    ("type.toml", '[[faq]]\nkey = "k"\nquestion = "q"\nanswer_zh = "a"\ntags = "x"\n',
     "field 'tags'"),
    ("second.toml", '[[faq]]\nkey = "k"\nquestion = "q"\nanswer_zh = "a"\n'
     '[[faq]]\nkey = "k2"\nquestion = ""\nanswer_zh = "a"\n', "[[faq]] #2, field 'question'"),
    ("kindclash.toml", '[[template]]\nkind = "faq"\nkey = "k"\nquestion = "q"\n'
     'answer_zh = "a"\n', "field 'kind'"),
    ("missing.toml", None, "no such file"),  # type: ignore[list-item]
    ("kb.json", "{}", "give a .toml or .csv file"),
]


@pytest.mark.parametrize(("name", "text", "says"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_file_is_refused_in_one_line_and_nothing_is_written(
        app: AfterSales, tmp_path: Path, name: str, text: str | bytes | None, says: str) -> None:
    app.kb.add({"key": "kept", "question": "q", "answer_zh": "a"})
    before = _counts(app)
    path = tmp_path / name if text is None else _file(tmp_path, name, text)
    with pytest.raises(ValidationError) as caught:
        app.kb.import_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert says in message, message
    assert _counts(app) == before
    result = CliRunner().invoke(main, ["--database-url", app.store.url, "kb", "import",
                                       str(path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("error: ")
    assert _counts(app) == before


def test_a_bad_row_after_good_ones_writes_none_of_them(app: AfterSales, tmp_path: Path) -> None:
    rows = "".join(f"faq,k{i},q{i},a,,,,,,\n" for i in range(50))
    path = _file(tmp_path, "late.csv", HEADER + rows + "faq,Bad!,q,a,,,,,,\n")
    with pytest.raises(ValidationError, match="row 52"):
        app.kb.import_file(path)
    assert _counts(app) == (0, 0)


def test_export_is_never_half_written(app: AfterSales, tmp_path: Path) -> None:
    app.kb.load_sample()
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    target = tmp_path / "kb.toml"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="cannot write"):
        app.kb.export_file(tmp_path / "missing" / "kb.toml")
    with pytest.raises(ValidationError, match=r"\.toml or \.csv"):
        app.kb.export_file(tmp_path / "kb.txt")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.toml"]


def test_an_export_gets_the_mode_of_a_plain_write(app: AfterSales, tmp_path: Path) -> None:
    """The export is written to a private temporary file and renamed: the file in
    place must be as readable as any file the user writes (it was 0600)."""
    import os
    import stat

    before = os.umask(0o022)
    try:
        app.kb.export_file(tmp_path / "kb.csv")
        existing = tmp_path / "kb.toml"
        existing.write_text("", encoding="utf-8")
        existing.chmod(0o640)
        app.kb.export_file(existing)
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "kb.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640
