"""The ``aftersales customers`` commands.

::

    aftersales customers show buyer-42
    aftersales --json customers show buyer-42 --store tmall-flagship
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import Group

from aftersales.cli_support import CliState, known_store, output, pass_state, stored_stores, table
from aftersales.store.tables.core import OrderRow

__all__ = ["group"]


def _money(per_currency: dict[str, Any]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in per_currency.items()) or "-"


@click.group("customers")
def group() -> None:
    """Customer records (客户档案)."""


@group.command("show")
@click.argument("buyer_id")
@click.option("--store", default=None, help="Only this store's history.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Rows shown per section (the JSON output has every row).")
@pass_state
def show_command(state: CliState, buyer_id: str, store: str | None, limit: int) -> None:
    """One buyer's orders, returns, refunds, reviews, cases, follow-ups, contacts and score.

    Contact details are masked.
    """
    known_store(state.app, store, stored=stored_stores(state.app, OrderRow.marketplace))
    record = state.app.customers.get(buyer_id, store=store)
    data = record.as_dict()

    def render() -> Group:
        life, score = record.lifetime, record.returner
        buyer = data["buyer"] or {}
        summary = table(f"customer {buyer_id}", ["", ""], [
            ("name / phone / e-mail", " / ".join(str(buyer.get(k) or "-")
                                                for k in ("name", "phone", "email"))),
            ("orders", f"{life.orders} (first {life.first_order_at or '-'}, "
                       f"last {life.last_order_at or '-'})"),
            ("spent", _money(life.spent)), ("refunded", _money(life.refunded)),
            ("net", _money(life.net)), ("returns", life.returns),
            ("reviews", f"{life.reviews} (average {life.average_rating or '-'})"),
            ("average CSAT", life.average_csat or "-"),
            ("opt-outs", ", ".join(o.scope for o in record.opt_outs) or "-"),
            ("open holds", ", ".join(f"{h.kind} {h.ref}" for h in record.holds
                                     if h.resolved_at is None) or "-"),
            ("serial returner", f"{score.points} ({score.level}): " + "; ".join(score.reasons)),
            ("rule", score.rule),
            ("inputs", ", ".join(f"{k}={v}" for k, v in score.inputs.items())),
        ])
        parts: list[Any] = [summary]
        sections: list[tuple[str, list[str], list[tuple[Any, ...]]]] = [
            ("orders", ["store", "order", "placed", "total", "status"],
             [(o.store, o.order_id, o.placed_at, f"{o.total.amount} {o.total.currency}",
               o.status) for o in record.orders]),
            ("returns", ["rma", "order", "kind", "status", "reasons"],
             [(r.rma_id, r.order_id, r.kind, r.status, ", ".join(r.reasons))
              for r in record.returns]),
            ("refunds", ["order", "amount", "status", "when"],
             [(r.order_id, f"{r.amount.amount} {r.amount.currency}", r.status, r.created_at)
              for r in record.refunds]),
            ("reviews", ["id", "order", "rating", "complaints"],
             [(r.id, r.order_id, r.rating, ", ".join(r.complaints)) for r in record.reviews]),
            ("cases", ["id", "kind", "status", "priority", "root cause"],
             [(c.id, c.kind, c.status, c.priority, c.root_cause) for c in record.cases]),
            ("follow-ups", ["id", "plan", "status", "due", "csat"],
             [(f.id, f.plan, f.status, f.due_at, f.csat) for f in record.follow_ups]),
            ("contacts", ["sent", "kind", "channel", "source"],
             [(c.sent_at, c.kind, c.channel, c.source) for c in record.contacts]),
        ]
        for title, columns, rows in sections:
            if rows:
                more = f" (latest {limit} of {len(rows)})" if len(rows) > limit else ""
                parts.append(table(title + more, columns, rows[:limit]))
        return Group(*parts)

    output(state, data, render)
