"""Complaint cases (投诉工单) as a closed loop: receive, record, analyse, propose, follow up.

Reached as ``app.cases`` (:class:`~aftersales.cases.service.CasesService`).
The modules each do one job: :mod:`.states` (the state machine),
:mod:`.causes` (the root-cause pick-list), :mod:`.policy` and :mod:`.clock`
(SLA targets and business hours), :mod:`.sla` (deadline objects),
:mod:`.triggers` (cases opened from events), :mod:`.resolutions`,
:mod:`.repository` (SQL), :mod:`.service` and :mod:`.cli`.
"""

from __future__ import annotations

from aftersales.cases.causes import CauseCatalog
from aftersales.cases.model import AuditEntry, Case, Deadline, Fact
from aftersales.cases.policy import CasesPolicy, load_policy
from aftersales.cases.resolutions import Resolution, ResolutionKind
from aftersales.cases.states import CaseChannel, CaseKind, CaseStatus, Priority

__all__ = [
    "AuditEntry",
    "Case",
    "CaseChannel",
    "CaseKind",
    "CaseStatus",
    "CasesPolicy",
    "CauseCatalog",
    "Deadline",
    "Fact",
    "Priority",
    "Resolution",
    "ResolutionKind",
    "load_policy",
]
