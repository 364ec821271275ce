"""HTTP for the Judge.me REST API v1, through the core's ApiClient.

Judge.me authenticates with ``api_token`` and ``shop_domain`` query
parameters on every call (no header), so the token is registered with the
ApiClient as a secret: it is masked in every log line and error. Status
codes carry the errors (401 for a bad token, 404, 422, 429), which the
ApiClient maps onto the error tree as it does for any API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from aftersales.settings import AdapterClient
from aftersales_judgeme.settings import JudgeMeSettings

__all__ = ["JudgeMeClient"]


class JudgeMeClient(AdapterClient[JudgeMeSettings]):
    """The Judge.me calls the adapter makes: list reviews, post a public reply."""

    headers: ClassVar[Mapping[str, str]] = {"Accept": "application/json"}

    def list_reviews(self, page: int, per_page: int) -> Any:
        """``GET /reviews?page=&per_page=``: one page of the shop's reviews."""
        params = {**self.settings.credentials(), "page": page, "per_page": per_page}
        return self.api.get("/reviews", params=params)

    def reply(self, review_id: str, content: str, *, send_reply_email: bool) -> Any:
        """``POST /replies``: the shop's public reply to one review.

        Judge.me documents no idempotency key, so this POST is never re-sent
        by the retry layer once it may have reached the server; the reviews
        service's claim row is what keeps a reply from going twice.
        """
        body = {
            "review_id": int(review_id) if review_id.isdigit() else review_id,
            "send_reply_email": send_reply_email,
            "reply": {"content": content},
        }
        return self.api.post("/replies", params=self.settings.credentials(), json=body)
