"""An answer that holds no scan does not say a parcel is moving.

Kuaidi100's ``state`` is "0" (在途) by default: the real abort push in the
fixtures (``push_abort_no_trace_real``: "3天查询无记录", ``lastResult`` with
``status`` "201", message 单号不存在或者已经过期, ``state`` "0", empty
``data``) carries it for a number Kuaidi100 never found. The query door
answers the same case with returnCode 500, read as pending; the push door
must not read it as in transit.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from aftersales_kuaidi100 import Kuaidi100Carrier
from aftersales_kuaidi100.mapping import push_sign, to_tracking
from aftersales_kuaidi100.schemas import QueryResponse

from aftersales.models import ParcelStatus

from .conftest import SALT
from .test_fidelity import doc


def _push(param: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    text = json.dumps(param, ensure_ascii=False)
    body = urlencode({"param": text, "sign": push_sign(text, SALT)}).encode()
    return body, {"Content-Type": "application/x-www-form-urlencoded"}


def test_the_real_no_trace_abort_push_is_pending_not_in_transit(
        carrier: Kuaidi100Carrier) -> None:
    [tracking] = carrier.parse_push(*_push(doc("push_abort_no_trace_real")["param"]))
    assert tracking.status is ParcelStatus.PENDING
    assert tracking.push_stopped
    assert (tracking.number, tracking.carrier) == ("3100447289887", "yunda")


@pytest.mark.parametrize(("state", "status"), [("0", "201"), ("0", "200"), ("", "")])
def test_an_answer_without_scans_in_the_default_state_is_pending(state: str,
                                                                 status: str) -> None:
    response = QueryResponse.model_validate(
        {"nu": "YT1", "com": "yuantong", "state": state, "status": status, "data": []})
    assert to_tracking(response, "YT1", None).status is ParcelStatus.PENDING


def test_a_polling_push_with_scans_stays_in_transit(carrier: Kuaidi100Carrier) -> None:
    param = copy.deepcopy(doc("push_polling_doc_example")["param"])
    [tracking] = carrier.parse_push(*_push(param))
    assert tracking.status is ParcelStatus.IN_TRANSIT


def test_a_signed_answer_without_scans_keeps_its_state() -> None:
    response = QueryResponse.model_validate(
        {"nu": "YT1", "com": "yuantong", "state": "3", "status": "200", "data": []})
    assert to_tracking(response, "YT1", None).status is ParcelStatus.DELIVERED
