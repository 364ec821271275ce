"""The built-in channels are found through the same entry points a plug-in uses."""

from __future__ import annotations

import pytest

from aftersales import registry
from aftersales.channels.outbox import OutboxChannel
from aftersales.channels.smtp import SmtpChannel
from aftersales.channels.webhook import WebhookChannel


@pytest.mark.parametrize(
    ("name", "cls"),
    [("outbox", OutboxChannel), ("webhook", WebhookChannel), ("smtp", SmtpChannel)],
)
def test_entry_point_loads_the_channel_class(name: str, cls: type) -> None:
    assert registry.load(registry.CHANNELS, name) is cls
    assert cls.name == name
