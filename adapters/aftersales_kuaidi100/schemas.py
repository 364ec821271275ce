"""Tolerant wire models of Kuaidi100's payloads (unknown fields are ignored).

Every scalar Kuaidi100 sends is a string (``"state": "0"``), so the fields
are strings here too; mapping.py gives them meaning.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: A Kuaidi100 carrier code (``com``): "yuantong", "youzhengguonei", "jtexpress".
#: Anything else (a line break, markup, 100 kB) would become a parcel's carrier.
COM = r"^[A-Za-z0-9_-]{0,40}$"

__all__ = ["AutoNumberCandidate", "ErrorBody", "PushParam", "QueryEvent", "QueryResponse"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class QueryEvent(_Wire):
    """One entry of ``data[]``: a scan, newest first on the wire."""

    time: str | int | float | None = ""  # text; an epoch number is read, then checked
    ftime: str | int | float | None = ""
    context: str = ""
    location: str | None = None
    area_name: str | None = Field(default=None, alias="areaName")
    status: str | None = None  # the state's Chinese name (resultv2 on)
    status_code: str | None = Field(default=None, alias="statusCode")


class QueryResponse(_Wire):
    """A successful real-time query (``poll/query.do``) or a push's ``lastResult``."""

    message: str = ""
    nu: str = ""
    com: str = Field(default="", pattern=COM)
    state: str = ""
    ischeck: str = "0"
    status: str = ""
    data: list[QueryEvent] = Field(default_factory=list)


class ErrorBody(_Wire):
    """``{"result": false, "returnCode": "503", "message": "..."}``."""

    result: bool = False
    return_code: str = Field(default="", alias="returnCode")
    message: str = ""


class AutoNumberCandidate(_Wire):
    """One candidate carrier from ``autonumber/auto``, best first."""

    com_code: str = Field(alias="comCode", pattern=COM, min_length=1)
    name: str = ""
    length_pre: int | None = Field(default=None, alias="lengthPre")


class PushParam(_Wire):
    """The ``param`` JSON of a subscription push."""

    status: str = ""  # polling | shutdown | abort | updateall
    message: str = ""
    auto_check: str = Field(default="0", alias="autoCheck")
    com_new: str = Field(default="", alias="comNew")
    last_result: QueryResponse | None = Field(default=None, alias="lastResult")
