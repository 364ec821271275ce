"""Asking the marketplace whether an action whose answer was lost was done, before resending it.

An approval or refusal whose answer was lost (the marketplace may have
acted, then timed out or answered 500) keeps its claim "outcome unknown";
the next attempt of the same action sends it again. On a platform that
refuses a decision it already took, that resend is refused and the claim
waits for a sync or a person (``returns resolve``). A marketplace that
declares ``GET_RETURN`` (``get_return(external_id)``: one request as it
stands there now) is asked first instead: when its copy of the request
shows the action done, nothing is sent and the caller writes the move as
after an answered push. Anything else (not done, cannot tell, the lookup
failed) sends the action again exactly as before, under the same rules.

Only what a request's status proves counts as done: an approval once the
request is approved or further along the return (shipped back, received,
refunded, exchanged), a refusal once it is rejected. ``closed`` proves
neither (both paths end there), and a receipt (which may carry a refusal
after a failed inspection) is always sent again.
"""

from __future__ import annotations

import logging

from aftersales.errors import AfterSalesError
from aftersales.interfaces import Capability, Marketplace
from aftersales.models import ReturnRequest, ReturnStatus
from aftersales.redact import redact_text

__all__ = ["DONE_WHEN", "shows_done"]

log = logging.getLogger("aftersales.returns")

S = ReturnStatus
#: The statuses that prove each action done on the marketplace.
DONE_WHEN: dict[str, frozenset[ReturnStatus]] = {
    "approve": frozenset({S.APPROVED, S.RETURN_SHIPPED, S.RECEIVED, S.REFUNDED,
                          S.EXCHANGE_SHIPPED}),
    "reject": frozenset({S.REJECTED}),
}


def shows_done(market: Marketplace, external_id: str | None, action: str, *,
               rma_id: str) -> bool:
    """Whether the marketplace's own copy of request ``external_id`` shows ``action`` done.

    ``False`` when it shows it not done, and when it cannot tell: the
    marketplace declares no ``GET_RETURN``, the request has no id there
    (made in the shop's own portal), the action is not one a status proves,
    the lookup failed (logged at INFO, masked), or it answered with another
    request. The caller then sends the action again, as without a lookup.
    """
    done = DONE_WHEN.get(action)
    if done is None or not external_id or Capability.GET_RETURN not in market.capabilities:
        return False
    get = getattr(market, "get_return", None)
    if get is None:
        return False
    try:
        found = get(external_id)
    except AfterSalesError as exc:
        log.info("%s on return %s: looking it up on %s failed (%s); sending it again",
                 action, rma_id, market.name, " ".join(redact_text(str(exc)).split())[:300])
        return False
    # another request's copy (an adapter's slip) proves nothing about this one
    return (isinstance(found, ReturnRequest) and found.external_id == external_id
            and found.status in done)
