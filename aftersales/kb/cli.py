"""The ``aftersales kb`` commands: add, search, import, export, reindex, suggest.

::

    aftersales kb import --sample                 # the sample knowledge base (zh and en)
    aftersales kb import faq.toml                 # or faq.csv; all or nothing
    aftersales kb search 退款
    aftersales kb add --key gift-wrap --question "可以包装成礼物吗" --answer-zh "可以…"
    aftersales kb export kb.csv
    aftersales kb reindex                         # once after an upgrade changed search rules
    aftersales kb suggest --review 42             # drafts for a person; nothing is sent
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from aftersales.cli_support import (
    CliState,
    aware_datetime,
    known_store,
    output,
    pass_state,
    stored_stores,
    table,
)

__all__ = ["group"]


def _stores(app: Any) -> Any:
    """The store names the knowledge base and the orders hold (a ``--store`` typo is exit 2)."""
    from aftersales.store.tables.core import OrderRow
    from aftersales.store.tables.kb import KbEntryRow

    return stored_stores(app, KbEntryRow.store, OrderRow.marketplace)


def _entry_data(entry: Any) -> dict[str, Any]:
    data: dict[str, Any] = entry.model_dump(mode="json")
    return data


@click.group("kb")
def group() -> None:
    """Knowledge base: FAQ entries, reply templates, search and suggestions."""


@group.command("add")
@click.option("--key", required=True, help="The entry's name (a-z, 0-9, . _ -).")
@click.option("--question", required=True, help="The question as a buyer asks it.")
@click.option("--answer-zh", default="", help="The answer in Chinese.")
@click.option("--answer-en", default="", help="The answer in English.")
@click.option("--also", multiple=True, help="Another way buyers ask it (repeatable).")
@click.option("--intent", "intents", multiple=True, help="An intent (repeatable).")
@click.option("--tag", "tags", multiple=True, help="A tag: root cause or topic (repeatable).")
@click.option("--template", "is_template", is_flag=True,
              help="A reply template with {variables}, not a FAQ entry.")
@click.option("--handoff", is_flag=True, help="A person must handle this question.")
@click.option("--store", default="", help="Only for this store (default: every store).")
@click.option("--valid-from", callback=aware_datetime, default=None, help="ISO 8601, with zone.")
@click.option("--valid-until", callback=aware_datetime, default=None,
              help="ISO 8601, with zone.")
@pass_state
def add_command(state: CliState, key: str, question: str, answer_zh: str, answer_en: str,
                also: tuple[str, ...], intents: tuple[str, ...], tags: tuple[str, ...],
                is_template: bool, handoff: bool, store: str, valid_from: datetime | None,
                valid_until: datetime | None) -> None:
    """Add a FAQ entry or a reply template (or replace the one with the same key)."""
    if store:
        known_store(state.app, store, stored=_stores(state.app), labels=True)
    written = state.app.kb.add({
        "key": key, "kind": "template" if is_template else "faq", "store": store,
        "question": question, "also": list(also), "answer_zh": answer_zh,
        "answer_en": answer_en, "intents": list(intents), "tags": list(tags),
        "handoff": handoff, "valid_from": valid_from, "valid_until": valid_until,
    })
    output(state, {"key": key, "store": store, "result": written.value},
           lambda: f"{key}: {written.value}")


@group.command("search")
@click.argument("query")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--store", default=None, help="Also this store's own entries.")
@click.option("--kind", type=click.Choice(["faq", "template"]), default=None)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="The answer's language to show.")
@pass_state
def search_command(state: CliState, query: str, limit: int, store: str | None,
                   kind: str | None, lang: str) -> None:
    """Find the entries that answer QUERY (Chinese or English), best first."""
    known_store(state.app, store, stored=_stores(state.app))
    hits = state.app.kb.search(query, limit=limit, store=store, kind=kind)
    data = [{"score": h.score, **_entry_data(h.entry)} for h in hits]
    rows = [(h.entry.key, f"{h.score:.2f}", h.entry.question,
             ("[hand to a person] " if h.entry.handoff else "") + h.entry.answer(lang))
            for h in hits]
    output(state, data, lambda: table(f"{len(hits)} entries",
                                      ["key", "score", "question", "answer"], rows))


@group.command("import")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--sample", is_flag=True, help="Import the sample knowledge base shipped here.")
@pass_state
def import_command(state: CliState, path: Path | None, sample: bool) -> None:
    """Add or replace every entry of a TOML or CSV file; nothing is written if one is wrong."""
    if (path is None) == (not sample):
        raise click.UsageError("give a file or --sample")
    counts = state.app.kb.load_sample() if sample else state.app.kb.import_file(path)
    output(state, counts, lambda: ", ".join(f"{n} {what}" for what, n in counts.items()))


@group.command("reindex")
@pass_state
def reindex_command(state: CliState) -> None:
    """Index again the entries indexed by an older version's search rules."""
    count = state.app.kb.reindex()
    output(state, {"reindexed": count}, lambda: f"{count} entries indexed again")


@group.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--store", default=None, help="Only this store's and the shared entries.")
@pass_state
def export_command(state: CliState, path: Path, store: str | None) -> None:
    """Write every entry to a TOML or CSV file (by its suffix)."""
    known_store(state.app, store, stored=_stores(state.app))
    count = state.app.kb.export_file(path, store=store)
    output(state, {"path": str(path), "entries": count},
           lambda: f"{count} entries written to {path}")


@group.command("suggest")
@click.option("--review", "review_id", type=int, default=None, help="A review's id.")
@click.option("--case", "case_id", default=None, help="A case's id.")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 50))
@pass_state
def suggest_command(state: CliState, review_id: int | None, case_id: str | None,
                    limit: int) -> None:
    """Rank entries and templates for a case or a review; shows drafts, sends nothing."""
    found = state.app.kb.suggest(case_id, review_id=review_id, limit=limit)
    data = [{"key": s.entry.key, "kind": s.entry.kind.value, "score": s.score,
             "reasons": list(s.reasons), "handoff": s.handoff, "text": s.text,
             "missing": list(s.missing)} for s in found]
    rows = [(s.entry.key, f"{s.score:.2f}", ", ".join(s.reasons),
             s.text if s.text is not None else f"(needs {', '.join(s.missing)})")
            for s in found]
    output(state, data, lambda: table(f"{len(found)} suggestions (drafts; nothing sent)",
                                      ["key", "score", "why", "text"], rows))
