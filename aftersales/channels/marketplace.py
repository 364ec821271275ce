"""A marketplace's own buyer messaging as a channel.

Where an adapter declares :attr:`~aftersales.interfaces.Capability.MESSAGE_BUYER`
(a Taobao 旺旺 message, an Amazon buyer-seller message), follow-ups can go
through it like through any other channel. The capability is checked when
the channel is built, so a plan naming a marketplace that cannot message
buyers fails at start-up with
:class:`~aftersales.errors.UnsupportedOperationError`, not at send time.
"""

from __future__ import annotations

from aftersales.interfaces import Capability, ChannelBase, Marketplace, require
from aftersales.models import Message, Receipt

__all__ = ["MarketplaceChannel"]


class MarketplaceChannel(ChannelBase):
    """Sends messages through ``marketplace.send_message``.

    Args:
        marketplace: an adapter declaring ``MESSAGE_BUYER``.
        name: the channel's name in plans; ``"marketplace:<adapter>"`` by default.

    Raises:
        UnsupportedOperationError: the adapter cannot message buyers.
    """

    def __init__(self, marketplace: Marketplace, *, name: str | None = None) -> None:
        require(marketplace, Capability.MESSAGE_BUYER)
        self.marketplace = marketplace
        self.name = name or f"marketplace:{marketplace.name}"

    def send(self, message: Message) -> Receipt:
        """Hand ``message`` to the marketplace; its errors pass through unchanged.

        Raises:
            TransientError: the marketplace may accept it later (also
                ``RateLimitError``, which is retryable).
            RemoteRejectedError: the marketplace refused it (for example a
                conversation window that has closed).
        """
        return self.marketplace.send_message(message)
