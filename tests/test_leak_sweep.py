"""End to end, with every adapter failing and DEBUG logging on: no buyer's datum or secret leaks.

A sandbox shop whose buyers are two planted people (a Chinese and an
English-speaking one) is synced into SQLite. Then the same store is served
by the real Taobao adapter and the tracking by the real Kuaidi100, AfterShip
and 17TRACK adapters (in fallback order), follow-ups by the webhook channel,
all against ``responses`` answering every call with a failure: Taobao's
``error_response`` whose ``sub_msg`` quotes the buyer (whole, by name parts,
phone with spaces and dashes, URL-encoded, JSON-escaped), HTTP 4xx and 5xx
bodies echoing the buyer and the credentials, malformed JSON quoting the
request it answers (session, signature, the buyer's data), and timeouts.
A second sandbox store fails by the sandbox's own fault injection. Every
job runs through the ``aftersales`` command: sync, returns approve and
refund (and automatic approvals), logistics refresh, reviews sync and
reply, followups dispatch, cases, reports (the HTML one too) and ``worker
--once`` at DEBUG. None of the planted values, in any of its spellings,
may then appear in a log record (message or traceback), in the command's
stdout or stderr, in the text, repr or body of any library error made,
in the report, or in any text column of the database except the columns
that hold the buyer's data by design (which may hold no credential).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

import pytest
import requests
import responses
from aftersales_aftership import AfterShipCarrier, AfterShipSettings
from aftersales_kuaidi100 import Kuaidi100Carrier, Kuaidi100Settings
from aftersales_seventeentrack import SeventeenTrackCarrier, SeventeenTrackSettings
from aftersales_taobao import TaobaoMarketplace, TaobaoSettings
from click.testing import CliRunner
from sqlalchemy import String, Text, delete, select

from aftersales.app import AfterSales
from aftersales.channels.webhook import WebhookChannel, WebhookSettings
from aftersales.cli import main
from aftersales.cli_support import CliState
from aftersales.errors import AfterSalesError
from aftersales.followups.plans import FollowUpPlan
from aftersales.sandbox import Faults, SandboxMarketplace
from aftersales.sandbox import _orders as sandbox_orders
from aftersales.store.tables.base import Base
from aftersales.store.tables.core import CursorRow, OrderRow
from aftersales.store.tables.returns import ReturnRow
from aftersales.store.tables.reviews import ReviewRow
from aftersales.store.types import JSONType

SECRETS = {
    "app_secret": "tb-app-secret-sweep-4711",
    "session": "6100sweepsession4711abcdef",
    "kuaidi_key": "kd100sweepkey4711",
    "kuaidi_customer": "KD100SWEEPCUSTOMER4711",
    "webhook": "whsec-sweep-4711-abcdef",
    "aftership": "asat_sweep_4711_abcdef0123",
    "seventeen": "17SWEEPTOKEN4711ABCDEF",
}
ZH = {"name": "张三", "phone": "+86 138 1234 5678",
      "email": "zhangsan.sweep@example.com", "address": "浙江省杭州市西湖区文三路100号"}
EN = {"name": "Alicia Wongsakul", "phone": "+1 415 555 0199",
      "email": "alicia.wongsakul@example.com", "address": "742 Evergreen Terrace, Springfield"}
PEOPLE = (ZH, EN)


def spellings(value: str) -> set[str]:
    """The ways a platform may quote ``value``: whole, in parts, encoded, escaped."""
    out = {value, quote(value), quote_plus(value), quote(value, safe=""),
           json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=True)[1:-1],
           json.dumps(value, ensure_ascii=True)[1:-1].upper().replace("\\U", "\\u"),
           value.encode().decode("latin-1")}  # UTF-8 read as Latin-1
    digits = re.sub(r"\D", "", value)
    if value.startswith("+") and digits:  # a phone: national digits, spaced and dashed
        national = digits[2:] if digits.startswith("86") else digits[1:]
        out |= {national, "-".join(value.split()[1:]), " ".join(value.split()[1:])}
    return {s for s in out if len(s) >= 2}


def planted() -> dict[str, str]:
    """Every planted spelling, by what it is (for a readable failure)."""
    found: dict[str, str] = {}
    for person in PEOPLE:
        for field, value in person.items():
            for s in spellings(value):
                found[s] = f"{field} {value!r} as {s!r}"
        for part in person["name"].split():
            if len(part) >= 3:
                found[part] = f"name part {part!r}"
                found[part.upper()] = f"name part {part.upper()!r}"
    return found | secrets()


def secrets() -> dict[str, str]:
    """The credentials and every signature sent, in their spellings."""
    found = {s: f"secret {key} as {s!r}" for key, value in SECRETS.items()
             for s in spellings(value)}
    found |= {s: "a request's signature" for s in SIGNATURES if len(s) >= 16}
    return found


def _buyer_fields(seed: int, index: int) -> dict[str, str]:
    person = PEOPLE[index % 2]
    return {"external_id": f"B{index + 1:07d}", **person,
            "timezone": "Asia/Shanghai" if person is ZH else "America/New_York",
            "locale": "zh-CN" if person is ZH else "en-US"}


def _quoting(person: dict[str, str], known: bool = True) -> str:
    """A platform's free text naming the buyer in every way but JSON escapes.

    An answer to a call about one record may name its buyer bare; an answer
    to a list call is about no record the library knows, and a bare name
    there cannot be told from any other word (the README's known limit), so
    those quote the name after a cue word only.
    """
    name = (f"{person['name']} ({person['name'].split()[-1]}, "
            f"{person['name'].split()[-1].upper()})" if known
            else f"buyer {ZH['name']}, 收货人：{EN['name']}, 收件人 {ZH['name']}, "
                 f"customer {EN['name']}")
    return (f"{name} "
            f"电话 {person['phone']} / {person['phone'].replace(' ', '-')} "
            f"邮箱 {quote(person['email'])} 地址 {quote_plus(person['address'])} "
            f"{person['address']}")


_FAILURES = itertools.count()
#: Every request signature sent (Taobao's and Kuaidi100's sign, the webhook's header).
SIGNATURES: set[str] = set()
#: The buyer of each return request, review and order, by the id Taobao is asked about.
BUYER_OF: dict[str, dict[str, str]] = {}


def _taobao_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    """Each call fails another way, every way quoting the buyer or the request."""
    form = dict(parse_qsl(str(request.body or "")))
    SIGNATURES.add(form["sign"])
    # a call about one record quotes that record's buyer; a list call, anyone
    record = form.get("refund_id") or form.get("oid") or form.get("tid")
    known = record in BUYER_OF
    person = BUYER_OF[record] if known else PEOPLE[next(_FAILURES) % 2]
    kind = next(_FAILURES) % 5
    if kind == 0:  # Taobao's error envelope: sub_msg names the buyer
        body = {"error_response": {"code": 15, "msg": "Remote service error",
                                   "sub_code": "isv.refund-not-exist",
                                   "sub_msg": f"退款不存在: 买家 {_quoting(person, known)} "
                                              f"(app {SECRETS['app_secret']} in session "
                                              f"{SECRETS['session']})",
                                   "request_id": "sweep1"}}
        return 200, {}, json.dumps(body, ensure_ascii=False)
    if kind == 1:  # the same, JSON-escaped, quoting a JSON fragment of the request
        fragment = f" q={json.dumps(person['name'])}" if known else ""
        body = {"error_response": {"code": 15, "msg": "Remote service error",
                                   "sub_code": "isv.invalid-parameter",
                                   "sub_msg": f"buyer {person['name']} phone {person['phone']}"
                                              f" address {person['address']}{fragment}"}}
        return 200, {}, json.dumps(body, ensure_ascii=True)
    if kind == 2:  # a 4xx whose body echoes the request and the buyer
        return 400, {}, json.dumps({"error": "bad request", "echo": form,
                                    "detail": _quoting(person, known)}, ensure_ascii=False)
    if kind == 3:  # a 5xx, malformed JSON quoting the request
        return 502, {}, ('{"error": "upstream", "request": "' + str(request.body)
                         + '", "buyer": "' + json.dumps(person["name"] if known else "")[1:-1] + '"')
    raise requests.exceptions.ReadTimeout(f"read timed out for {_quoting(person, known)} "
                                          f"{person['phone']} {form.get('session')}")


def _webhook_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    # the receiver refuses and echoes what it was sent (the message names the buyer)
    SIGNATURES.add(str(request.headers["X-Aftersales-Signature"]).removeprefix("v1="))
    sent = json.dumps(json.loads(request.body or b"{}"), ensure_ascii=False)
    person = ZH if ZH["name"] in sent else EN  # the message's buyer
    if next(_FAILURES) % 2:
        return 422, {}, json.dumps({"error": "refused", "echo": str(request.body),
                                    "headers": dict(request.headers)})
    return 503, {}, f"unavailable for {_quoting(person)}"


def _tracker_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    # AfterShip and 17TRACK: a refusal echoing the request and its key, or a 5xx, or a timeout
    kind = next(_FAILURES) % 3
    if kind == 0:
        return 400, {}, json.dumps({"meta": {"code": 4001, "message": _quoting(ZH, False)},
                                    "code": -18010012, "echo": dict(request.headers),
                                    "request": str(request.body)}, ensure_ascii=False)
    if kind == 1:
        return 503, {}, f"busy: {_quoting(EN, False)} {request.headers}"
    raise requests.exceptions.ReadTimeout(f"timeout {request.headers}")


def _kuaidi_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    # a batch of numbers is about no one buyer the call knows: names after cue words only
    SIGNATURES.add(dict(parse_qsl(str(request.body or ""))).get("sign", ""))
    person = PEOPLE[next(_FAILURES) % 2]
    kind = next(_FAILURES) % 3
    if kind == 0:
        return 200, {}, json.dumps({"result": False, "returnCode": "400",
                                    "message": f"收件人 {_quoting(person, False)} 不匹配"},
                                   ensure_ascii=False)
    if kind == 1:
        return 500, {}, '{"message": "' + str(request.body) + f' {_quoting(person, False)}'
    raise requests.exceptions.ConnectTimeout(f"connect timeout {quote(person['email'])}")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setattr(sandbox_orders, "_buyer_fields", _buyer_fields)
    SIGNATURES.clear()
    errors: list[AfterSalesError] = []  # every error made, to read its text and body
    init = AfterSalesError.__init__

    def record(self: AfterSalesError, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        errors.append(self)

    monkeypatch.setattr(AfterSalesError, "__init__", record)
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    seed_tmall = SandboxMarketplace(seed=5, orders=16, returns=8, name="tmall")
    seed_flaky = SandboxMarketplace(seed=6, orders=8, returns=4, name="flaky")
    with AfterSales(url, marketplaces=[seed_tmall, seed_flaky],
                    carriers=[seed_tmall.carrier()]) as app:
        app.sync()
        app.logistics.refresh()
        for r in app.returns.list(status="requested"):
            if r.kind == "refund_only":  # to be refunded below, through Taobao
                app.returns.approve(r.rma_id)
        plan = FollowUpPlan(name="sweep", channel="webhook", subject="{buyer.name}",
                            body="Dear {buyer.name}, {buyer.phone} {buyer.address}")
        with app.store.session() as s:
            orders = [(o.buyer["external_id"], o.external_id, o.marketplace)
                      for o in s.scalars(select(OrderRow).limit(6))]
        for buyer_id, order_id, store in orders:
            app.followups.schedule(plan, buyer_id=buyer_id, order_id=order_id,
                                   marketplace=store, due_at=datetime.now(UTC))
        with app.store.session() as s, s.begin():
            s.execute(delete(CursorRow).where(CursorRow.source == "tmall"))
            buyer_of = {o.id: (o.external_id, ZH if o.buyer["name"] == ZH["name"] else EN)
                        for o in s.scalars(select(OrderRow).where(OrderRow.marketplace == "tmall"))}
            BUYER_OF.clear()
            BUYER_OF.update(buyer_of.values())
            for table in (ReturnRow, ReviewRow):
                for ext, order_id in s.execute(select(table.external_id, table.order_id)
                                               .where(table.marketplace == "tmall")):
                    BUYER_OF[ext] = buyer_of[order_id][1]
    taobao = TaobaoMarketplace(
        TaobaoSettings(app_key="12345678", app_secret=SECRETS["app_secret"],
                       session=SECRETS["session"], lookback=timedelta(days=1), tmall=True,
                       seller_address_id="1"),
        name="tmall", sleep=lambda _s: None)
    kuaidi = Kuaidi100Carrier(Kuaidi100Settings(key=SECRETS["kuaidi_key"],
                                                customer=SECRETS["kuaidi_customer"]),
                              sleep=lambda _s: None)
    flaky = SandboxMarketplace(seed=6, orders=8, returns=4, name="flaky",
                               faults=Faults(timeout=0.5, server_error=0.5, seed=2))
    webhook = WebhookChannel(WebhookSettings(url="https://hooks.example.com/aftersales",
                                             secret=SECRETS["webhook"]))
    later = datetime.now(UTC) + timedelta(days=3)
    policy = tmp_path / "policy.toml"  # every request may be approved without a human
    policy.write_text("window_days = 3650\n[[auto_approve]]\nname = \"all\"\n",
                      encoding="utf-8")
    trackers = [kuaidi,  # fallbacks, in order, each failing too
                AfterShipCarrier(AfterShipSettings(api_key=SECRETS["aftership"]),
                                 sleep=lambda _s: None),
                SeventeenTrackCarrier(SeventeenTrackSettings(token=SECRETS["seventeen"]),
                                      sleep=lambda _s: None)]
    app = AfterSales(url, marketplaces=[taobao, flaky], carriers=trackers, channels=[webhook],
                     clock=lambda: later, return_policy=str(policy))
    app.followups.register(plan)
    monkeypatch.setattr(CliState, "app", property(lambda self: app))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, re.compile(r"https://[^/]*taobao\.com/.*"),
                          callback=_taobao_answer, content_type="application/json")
        for method in (responses.GET, responses.POST):
            mock.add_callback(method, re.compile(r"https://[^/]*kuaidi100\.com/.*"),
                              callback=_kuaidi_answer, content_type="application/json")
        for method in (responses.GET, responses.POST):
            mock.add_callback(method, re.compile(r"https://api\.(aftership\.com|17track\.net)/.*"),
                              callback=_tracker_answer, content_type="application/json")
        mock.add_callback(responses.POST, "https://hooks.example.com/aftersales",
                          callback=_webhook_answer)
        yield {"app": app, "url": url, "mock": mock, "errors": errors}
    app.close()


def _text_columns() -> list[tuple[Any, Any]]:
    return [(table, column) for table in Base.metadata.sorted_tables
            for column in table.columns if isinstance(column.type, String | Text | JSONType)]


#: Columns that hold the buyer's data because that is what they are for
#: (checked for credentials only).
BY_DESIGN = {("orders", "buyer"), ("follow_ups", "context")}


def _stored_texts(app: AfterSales, by_design: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    with app.store.session() as s:
        for table, column in _text_columns():
            if ((table.name, column.name) in BY_DESIGN) != by_design:
                continue
            for value in s.scalars(select(column)):
                if value is not None:
                    text = value if isinstance(value, str) else json.dumps(value,
                                                                           ensure_ascii=False)
                    out.append((f"{table.name}.{column.name}", text))
    return out


def test_no_planted_value_leaks_anywhere(world: dict[str, Any], tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app: AfterSales = world["app"]
    runner = CliRunner()
    shown: list[tuple[str, str]] = []

    def run(*args: str) -> None:
        result = runner.invoke(main, ["--database-url", world["url"], *args])
        shown.append((f"{' '.join(args)} stdout", result.stdout))
        shown.append((f"{' '.join(args)} stderr", result.stderr))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            shown.append((f"{' '.join(args)} exception", repr(result.exception)))
        # a usable command: done (0) or failed with the failure named (1), never a crash
        assert result.exit_code in (0, 1), (args, result.output, result.exception)

    run("sync")
    run("--json", "sync")
    for r in app.returns.list(status="requested")[:4]:
        run("returns", "approve", r.rma_id)
        run("--json", "returns", "approve", r.rma_id)
    for r in app.returns.list(status="requested")[4:8]:  # automatic approvals
        app.returns.decide(r.rma_id)
    for r in app.returns.list(status="approved")[:4]:
        run("returns", "refund", r.rma_id)
        run("--json", "returns", "refund", r.rma_id)
    run("logistics", "refresh")
    run("--json", "logistics", "refresh")
    run("reviews", "sync")
    for review in app.reviews.list()[:4]:
        run("reviews", "reply", str(review.id), "--template", "thanks")
    run("followups", "dispatch")
    run("cases", "list")
    run("report", "returns")
    report = tmp_path / "report.html"
    run("report", "html", "-o", str(report))
    assert report.exists(), shown[-2:]
    run("worker", "--once", "--log-level", "DEBUG")
    run("--json", "worker", "--once", "--log-level", "DEBUG")
    called = {dict(parse_qsl(str(c.request.body or ""))).get("method") or c.request.url
               for c in world["mock"].calls}
    # every kind of call the jobs make was made, and failed
    assert all(any(host in c for c in called) for host in ("aftership.com", "17track.net"))
    assert len(SIGNATURES) > 3
    made = {type(e).__name__ for e in world["errors"]}
    assert {"RemoteError", "RemoteRejectedError", "TransientError"} <= made, made
    assert {"taobao.refund.get", "taobao.trades.sold.increment.get", "taobao.traderates.get",
            "taobao.traderate.explain.add", "https://hooks.example.com/aftersales",
            "https://poll.kuaidi100.com/poll/query.do"} <= called, called
    texts = [(f"{type(e).__name__} {what}", text) for e in world["errors"]
              for what, text in (("str", str(e)), ("repr", repr(e)),
                                 ("body", getattr(e, "body", None) or ""))]
    texts += shown + [(f"log {r.name}", r.getMessage()) for r in caplog.records]
    texts += [(f"log {r.name} traceback", r.exc_text or "") for r in caplog.records]
    texts += _stored_texts(app, by_design=False)
    texts.append(("report html", report.read_text(encoding="utf-8")))
    found = planted()
    leaks = sorted({f"{where}: {what}" for where, text in texts
                    for value, what in found.items() if value in text})
    leaks += sorted({f"{where}: {what}" for where, text in _stored_texts(app, by_design=True)
                     for value, what in secrets().items() if value in text})
    assert leaks == [], "\n".join(leaks)
