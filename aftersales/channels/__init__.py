"""Channels: how a follow-up or notice reaches a buyer.

Built in: ``outbox`` (a table the shop's backend reads), ``webhook`` (a signed
HTTP POST), ``smtp`` (e-mail) and :class:`MarketplaceChannel` (a
marketplace's own buyer messaging, where its adapter declares
``MESSAGE_BUYER``). Each is registered in the ``aftersales.channels`` entry
point group, the same group a third-party channel uses. Modules are imported
only when a channel is asked for.
"""

from __future__ import annotations
