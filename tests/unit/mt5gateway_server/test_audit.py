from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from mt5gateway_server.audit import AuditFeed, AuditOutcome, AuditRecord
from structlog.testing import capture_logs

METHOD = "/mt5gateway.v1.TradeService/CreateBalanceOperation"
WHEN = datetime(2026, 11, 25, 3, 0, 0, 123000, tzinfo=UTC)


def deposit(**overrides: object) -> AuditRecord:
    fields: dict[str, object] = {
        "method": METHOD,
        "operation": "deposit",
        "outcome": AuditOutcome.SUCCEEDED,
        "server": "main",
        "request_id": "7f1c0a4e-2b7d-4c1e-9a51-0d3f1b2c3d4e",
        "login": 1001,
        "amount": Decimal("100.10"),
        "currency": "USD",
        "deal": 555,
        "retcode": 0,
        "caller": "crm",
        "peer": "ipv4:127.0.0.1:5555",
        "time": WHEN,
    }
    fields.update(overrides)
    return AuditRecord(**fields)  # type: ignore[arg-type]


def test_record_dict_is_exact_and_compact():
    rec = deposit(comment=None)
    assert rec.to_dict() == {
        "time": "2026-11-25T03:00:00.123000Z",
        "method": METHOD,
        "operation": "deposit",
        "outcome": "succeeded",
        "server": "main",
        "request_id": "7f1c0a4e-2b7d-4c1e-9a51-0d3f1b2c3d4e",
        "login": 1001,
        "amount": "100.10",
        "currency": "USD",
        "deal": 555,
        "retcode": 0,
        "caller": "crm",
        "peer": "ipv4:127.0.0.1:5555",
    }


def test_amount_text_is_kept_exactly():
    assert deposit(amount="0.000001").amount == "0.000001"
    assert deposit(amount=Decimal("1E+3")).amount == "1000"
    with pytest.raises(ValueError, match="decimal"):
        deposit(amount="ten")
    with pytest.raises(ValueError, match="finite"):
        deposit(amount="NaN")


def test_naive_time_rejected():
    with pytest.raises(ValueError, match="timezone"):
        deposit(time=datetime(2026, 1, 1))  # noqa: DTZ001


def test_user_change_passwords_are_redacted():
    rec = AuditRecord(
        method="/mt5gateway.v1.UserService/UpdateUser",
        operation="user_update",
        outcome="succeeded",  # type: ignore[arg-type]
        server="main",
        login=1001,
        changes={"group": "real\\usd", "password": "N3wP@ss", "pass_investor": "x1"},
    )
    assert rec.outcome is AuditOutcome.SUCCEEDED
    text = rec.to_json()
    assert "N3wP@ss" not in text
    assert json.loads(text)["changes"] == {
        "group": "real\\usd",
        "password": "***",
        "pass_investor": "***",
    }
    fields = rec.stream_fields()
    assert json.loads(fields["changes"])["password"] == "***"
    assert fields["login"] == "1001"


async def test_file_feed_appends_json_lines(tmp_path):
    path = tmp_path / "audit" / "audit.jsonl"
    feed = AuditFeed(file=path)
    assert repr(feed) == f"<AuditFeed {path}>"
    feed(deposit())
    feed(deposit(outcome=AuditOutcome.REPLAYED, deal=None))
    await feed.aclose()
    await feed.aclose()
    first, second = [json.loads(x) for x in path.read_text().splitlines()]
    assert first["amount"] == "100.10"
    assert first["deal"] == 555
    assert second["outcome"] == "replayed"
    assert "deal" not in second
    # Append-only: a new instance adds to the same file.
    again = AuditFeed(file=path)
    again(deposit(outcome=AuditOutcome.UNKNOWN, retcode=None))
    await again.aclose()
    assert len(path.read_text().splitlines()) == 3
    # Closed (shutting down): the store keeps the record; the feed drops it quietly.
    again(deposit())
    assert len(path.read_text().splitlines()) == 3


async def test_default_feed_is_the_audit_logger():
    feed = AuditFeed()
    with capture_logs() as logs:
        feed(deposit())
    (entry,) = logs
    assert entry["event"] == "audit"
    assert entry["_logger_name"] == "audit"
    assert entry["amount"] == "100.10"
    assert entry["request_id"] == "7f1c0a4e-2b7d-4c1e-9a51-0d3f1b2c3d4e"
    await feed.aclose()
