"""The verifiers catch each broken rule (synthetic answers and deals, no processes):
a chaos run that passes means the rules held, not that nobody looked."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from .driver import Deposit, reconciliation_tag
from .verify import AuditRow, Verdict, check_audit, check_deals, internal_errors

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.chaos


def _deposit(n: int, amount: str = "10.00") -> Deposit:
    return Deposit(f"00000000-0000-4000-8000-{n:012d}", 100_000 + n, Decimal(amount))


def _deal(ticket: int, deposit: Deposit) -> dict[str, str]:
    return {
        "Deal": str(ticket),
        "Login": str(deposit.login),
        "Profit": format(deposit.amount, "f"),
        "Comment": f"{deposit.tag} chaos",
    }


def _stats(deals: list[dict[str, str]]) -> dict[str, Any]:
    per_login: dict[str, Decimal] = {}
    for deal in deals:
        per_login[deal["Login"]] = per_login.get(deal["Login"], Decimal(0)) + Decimal(
            deal["Profit"]
        )
    return {
        "balance_operations": {
            "count": len(deals),
            "per_login": {k: str(v) for k, v in per_login.items()},
        }
    }


def _verdict(deposits: list[Deposit]) -> Verdict:
    return Verdict(answered_ok=sum(1 for d in deposits if d.tickets))


def test_tag_follows_the_documented_rule() -> None:
    # The gateway's own tag for this id (written down once from its answer).
    assert reconciliation_tag("00000000-0000-4000-8000-000000000001") == (
        "gw:CHSZJ5EBSW"
    )


def test_clean_run_has_no_problems() -> None:
    ok, rejected = _deposit(1), _deposit(2)
    ok.tickets.append(501)
    rejected.rejections.append("FAILED_PRECONDITION/MT5_REJECTED")
    deals = [_deal(501, ok)]
    verdict = _verdict([ok, rejected])
    applied = check_deals(verdict, [ok, rejected], deals, _stats(deals))
    check_audit(verdict, applied, [AuditRow(ok.request_id, "succeeded", 501)])
    assert verdict.problems == []
    assert applied == {ok.request_id: {501}}


def test_duplicated_lost_and_wrongly_rejected_deposits_are_reported() -> None:
    twice, lost, rejected, silent = (_deposit(n) for n in range(1, 5))
    twice.tickets.append(501)
    lost.tickets.append(502)
    rejected.rejections.append("FAILED_PRECONDITION/MT5_REJECTED")
    deals = [_deal(501, twice), _deal(509, twice), _deal(503, rejected)]
    deals.append(_deal(504, silent))  # applied, but the caller never got an answer
    silent.sent = True
    sent = [twice, lost, rejected, silent]
    verdict = _verdict(sent)
    check_deals(verdict, sent, deals, _stats(deals))
    text = "\n".join(verdict.problems)
    assert f"DUPLICATED request_ids (deals): 1 [{twice.request_id}x2]" in text
    assert f"LOST: answered OK, no deal: 1 [{lost.request_id}]" in text
    assert "answered with a rejection but applied: 1" in text
    assert f"applied but never answered: 1 [{silent.request_id}]" in text
    assert "per-login sums differ from the OK amounts" in text
    assert "mt5sim counted 4 balance operations for 2 OK" in text
    assert verdict.duplicated_extra_deals == 1
    assert any(t.startswith(twice.request_id) for t in verdict.timelines)


def test_unexplained_failures_and_disagreeing_answers_are_reported() -> None:
    internal, flip = _deposit(1), _deposit(2)
    internal.rejections.append("INTERNAL/INTERNAL_ERROR")
    flip.tickets.append(501)
    flip.rejections.append("FAILED_PRECONDITION/MT5_REJECTED")
    deals = [_deal(501, flip)]
    verdict = _verdict([internal, flip])
    check_deals(verdict, [internal, flip], deals, _stats(deals))
    text = "\n".join(verdict.problems)
    assert "INTERNAL/INTERNAL_ERROR x1" in text
    assert f"answers disagree for one request_id: 1 [{flip.request_id}]" in text
    assert any(t.startswith(flip.request_id) for t in verdict.timelines)


def test_audit_must_hold_one_succeeded_record_per_applied_deal() -> None:
    applied = {"a": {1}, "b": {2}, "c": {3}}
    rows = [
        AuditRow("a", "attempting", None),
        AuditRow("a", "succeeded", 1),
        AuditRow("b", "succeeded", 2),
        AuditRow("b", "succeeded", 2),
        AuditRow("c", "succeeded", 4),
        AuditRow("d", "succeeded", 5),
        AuditRow("e", "replayed", 6),
    ]
    applied["f"] = {6}
    verdict = Verdict()
    check_audit(verdict, applied, rows)
    assert verdict.problems == [
        "AUDIT: applied deal without a succeeded record: 1 [f]",
        "AUDIT: several succeeded records for one request_id: 1 [bx2]",
        "AUDIT: succeeded record with another deal ticket: 1 [c]",
        "AUDIT: succeeded record but no deal: 1 [d]",
    ]
    assert verdict.audit_outcomes == {"attempting": 1, "succeeded": 5, "replayed": 1}


def test_missing_audit_is_a_problem() -> None:
    verdict = Verdict(audit_source="sqlite /nowhere/mt5gateway.sqlite3")
    check_audit(verdict, {}, None)
    assert verdict.problems == ["no audit found at sqlite /nowhere/mt5gateway.sqlite3"]


def test_a_duplicate_may_carry_either_of_its_tickets_in_the_audit() -> None:
    # Both deals of a twice-applied request_id carry its tag; its succeeded record
    # names one of them (the duplicate itself is reported by check_deals).
    verdict = Verdict()
    check_audit(verdict, {"g": {7, 8}}, [AuditRow("g", "succeeded", 8)])
    assert verdict.problems == []


def test_internal_errors_are_read_from_the_gateway_log(tmp_path: Path) -> None:
    error = {
        "event": "rpc_internal_error",
        "request_id": "r-1",
        "timestamp": "2026-01-01T00:00:00Z",
        "exception": [
            {
                "exc_type": "RuntimeError",
                "exc_value": "outcome already recorded",
                "frames": [
                    {"filename": "engine.py", "lineno": 10, "name": "run"},
                    {"filename": "store.py", "lineno": 20, "name": "_check_owned"},
                ],
            }
        ],
    }
    other = {"event": "rpc_finished", "code": "INTERNAL", "request_id": "r-1"}
    log = tmp_path / "gateway.log"
    log.write_text(
        "mt5gateway ready on 127.0.0.1:1 (rpc_internal_error in plain text)\n"
        + json.dumps(other)
        + "\n"
        + json.dumps(error)
        + "\n"
    )
    expected = (
        "r-1 at 2026-01-01T00:00:00Z: RuntimeError: outcome already recorded at"
        " store.py:20 in _check_owned"
    )
    assert internal_errors(log) == [expected]
    assert internal_errors(tmp_path / "missing.log") == []
