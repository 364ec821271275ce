"""Kuaidi100 (快递100) tracking adapter for aftersales.

``Kuaidi100Carrier`` is registered as ``kuaidi100`` in ``aftersales.carriers``;
``sign`` and ``verify_push`` are the signing rules, public for callers who
build their own callback endpoint.
"""

from __future__ import annotations

from aftersales_kuaidi100.adapter import PUSH_ACK, Kuaidi100Carrier
from aftersales_kuaidi100.mapping import STATE_TABLE, push_sign, sign, verify_push
from aftersales_kuaidi100.settings import Kuaidi100Settings

__all__ = [
    "PUSH_ACK",
    "STATE_TABLE",
    "Kuaidi100Carrier",
    "Kuaidi100Settings",
    "push_sign",
    "sign",
    "verify_push",
]
