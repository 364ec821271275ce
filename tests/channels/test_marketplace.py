"""A marketplace's buyer messaging as a channel, gated by MESSAGE_BUYER."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aftersales.channels.marketplace import MarketplaceChannel
from aftersales.errors import UnsupportedOperationError
from aftersales.interfaces import Capability, MarketplaceBase
from aftersales.models import Message, Receipt


class Messenger(MarketplaceBase):
    name = "demo"
    capabilities = frozenset({Capability.MESSAGE_BUYER})

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send_message(self, message: Message) -> Receipt:
        self.sent.append(message)
        return Receipt(channel=self.name, message_id=f"m{len(self.sent)}",
                       accepted_at=datetime.now(UTC))


class Mute(MarketplaceBase):
    name = "mute"


def test_sends_through_the_adapter() -> None:
    adapter = Messenger()
    channel = MarketplaceChannel(adapter)
    message = Message(to="b1", body="hi", idempotency_key="k1")
    receipt = channel.send(message)
    assert adapter.sent == [message]
    assert receipt.message_id == "m1"
    assert channel.name == "marketplace:demo"


def test_adapter_without_capability_fails_at_construction() -> None:
    with pytest.raises(UnsupportedOperationError, match="mute does not support message_buyer"):
        MarketplaceChannel(Mute())
