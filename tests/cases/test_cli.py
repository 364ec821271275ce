"""``aftersales cases …``: the loop from the command line, and hostile input as one-line errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from aftersales.cli import main

ENV = {"AFTERSALES_MARKETPLACES": "", "AFTERSALES_CHANNELS": "outbox"}


def _run(url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--database-url", url, *args], env=ENV)


def _json(url: str, *args: str) -> Any:
    result = _run(url, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_open_work_and_close_a_case(sqlite_url: str) -> None:
    case = _json(sqlite_url, "cases", "open", "--store", "shop", "--buyer", "b1",
                 "--order", "o1", "--kind", "complaint", "--subject", "arrived broken",
                 "--key", "call-1")
    cid = str(case["id"])
    again = _json(sqlite_url, "cases", "open", "--store", "shop", "--buyer", "b1",
                  "--order", "o1", "--kind", "complaint", "--key", "call-2")
    assert again["id"] == case["id"]
    assert len(again["facts"]) == 2
    _json(sqlite_url, "cases", "note", cid, "called back", "--reply")
    _json(sqlite_url, "cases", "assign", cid, "alice")
    _json(sqlite_url, "cases", "cause", cid, "logistics.damaged_in_transit")
    proposed = _json(sqlite_url, "cases", "propose", cid, "reship", "--message",
                     "a new one is on its way")
    assert proposed["status"] == "awaiting_customer"
    assert _json(sqlite_url, "cases", "resolve", cid)["status"] == "resolved"
    assert _json(sqlite_url, "cases", "close", cid)["status"] == "closed"
    reopened = _json(sqlite_url, "cases", "reopen", cid, "--reason", "broke again")
    assert (reopened["status"], reopened["priority"]) == ("reopened", "high")
    shown = _json(sqlite_url, "cases", "show", cid)
    assert [h["to_status"] for h in shown["history"] if h["to_status"]] == [
        "received", "proposed", "awaiting_customer", "resolved", "closed", "reopened"]
    listed = _json(sqlite_url, "cases", "list", "--open")
    assert [c["id"] for c in listed] == [case["id"]]
    text = _run(sqlite_url, "cases", "show", cid)
    assert text.exit_code == 0
    assert "damaged_in_transit" in text.output
    assert "logistics.lost_parcel" in _run(sqlite_url, "cases", "causes").output


@pytest.mark.parametrize(("args", "field"), [
    (["open", "--store", "shop", "--buyer", "b1", "--kind", "rant"], "kind"),
    (["open", "--store", "shop", "--buyer", "b1", "--kind", "complaint", "--channel", "fax"],
     "channel"),
    (["open", "--store", "shop", "--buyer", "b1", "--kind", "complaint", "--priority", "!!"],
     "priority"),
    (["open", "--store", "", "--buyer", "b1", "--kind", "complaint"], "store"),
    (["open", "--store", "shop", "--buyer", "b" * 121, "--kind", "complaint"], "buyer_id"),
    (["open", "--store", "shop", "--buyer", "b1\x1b[31m", "--kind", "complaint"], "buyer_id"),
    (["open", "--store", "shop", "--buyer", "b1", "--kind", "complaint",
      "--subject", "two\nlines"], "subject"),
    (["cause", "1", "aliens"], "root_cause"),
    (["propose", "1", "bribe"], "resolution"),
    (["propose", "1", "refund", "--amount", "NaN"], "amount"),
    (["propose", "1", "refund", "--amount", "1e9999"], "amount"),
    (["propose", "1", "refund", "--amount", "-5"], "amount"),
    (["propose", "1", "refund", "--amount", "1.001", "--currency", "CNY"], "amount"),
    (["propose", "1", "compensation", "--amount", "5"], "compensation"),
    (["assign", "1", " "], "assignee"),
    (["note", "1", ""], "text"),
    (["list", "--status", "lost"], "status"),
    (["reopen", "1", "--reason", "r" * 201], "reason"),  # PostgreSQL refused it unnamed
    (["reopen", "1", "--reason", "two\nlines"], "reason"),
])
def test_hostile_input_is_one_line_naming_the_field_and_writes_nothing(
        sqlite_url: str, args: list[str], field: str) -> None:
    _json(sqlite_url, "cases", "open", "--store", "shop", "--buyer", "b0", "--kind", "inquiry",
          "--key", "seed")
    before = _json(sqlite_url, "cases", "show", "1")
    result = _run(sqlite_url, "cases", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert field in lines[0]
    assert "Traceback" not in result.output
    assert _json(sqlite_url, "cases", "show", "1") == before
    assert len(_json(sqlite_url, "cases", "list")) == 1


def test_an_unknown_case_is_one_line(sqlite_url: str) -> None:
    result = _run(sqlite_url, "cases", "show", "99")
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1
    assert "99" in result.output


def test_show_prints_bracketed_values_as_they_are(sqlite_url: str) -> None:
    """Square brackets in an order id or a cause are text, not terminal markup to obey."""
    _json(sqlite_url, "cases", "open", "--store", "[bold]shop", "--buyer", "b1",
          "--order", "[/bold]o1", "--kind", "complaint", "--subject", "[link=x]hi[/link]")
    result = _run(sqlite_url, "cases", "show", "1")
    assert result.exit_code == 0, result.output
    assert "store=[bold]shop order=[/bold]o1" in result.output


@pytest.mark.parametrize("args", [["show", "99999999999999999999999"],
                                  ["note", "99999999999999999999999", "hi"],
                                  ["close", "9223372036854775808"]])
def test_an_id_past_the_databases_integers_is_one_line_naming_it(
        sqlite_url: str, args: list[str]) -> None:
    """It stopped with an unexpected OverflowError (exit 1) before the look-up."""
    result = _run(sqlite_url, "cases", *args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "case_id" in result.output
