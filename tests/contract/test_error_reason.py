"""ErrorReason: the ErrorInfo.reason strings clients branch on; once shipped, fixed."""

import re
from pathlib import Path

from mt5gateway.v1 import error_reason_pb2

README = Path(__file__).resolve().parents[2] / "protos" / "README.md"

# Golden copy: a value may be added here and in the proto, never renamed or renumbered
# (this holds in shallow clones too, where buf breaking is skipped).
GOLDEN = {
    "ERROR_REASON_UNSPECIFIED": 0,
    "VALIDATION_FAILED": 1,
    "MT5_INVALID_PARAMETERS": 2,
    "CALLER_UNAUTHENTICATED": 3,
    "MT5_PERMISSION_DENIED": 4,
    "MT5_NOT_FOUND": 5,
    "MT5_DUPLICATE": 6,
    "MT5_REJECTED": 7,
    "MT5_NO_MONEY": 8,
    "MT5_RATE_LIMITED": 9,
    "MT5_UNAVAILABLE": 10,
    "POOL_EXHAUSTED": 11,
    "MT5_OUTCOME_UNKNOWN": 12,
    "IDEMPOTENCY_CONFLICT": 13,
    "SERVER_NOT_FOUND": 14,
    "INVALID_PAGE_TOKEN": 15,
    "MT5_ERROR": 16,
    "INTERNAL_ERROR": 17,
    "MT5_AUTH_FAILED": 18,
    "GATEWAY_DRAINING": 19,
    "REQUEST_IN_PROGRESS": 20,
    "STATE_STORE_UNAVAILABLE": 21,
}


def test_values_match_golden() -> None:
    enum = error_reason_pb2.ErrorReason.DESCRIPTOR
    assert {v.name: v.number for v in enum.values} == GOLDEN


def test_name_is_the_reason_string() -> None:
    reason = error_reason_pb2.ErrorReason
    assert reason.Name(reason.MT5_NO_MONEY) == "MT5_NO_MONEY"
    assert reason.Value("MT5_OUTCOME_UNKNOWN") == 12


def test_every_reason_has_a_code_in_the_readme_table() -> None:
    rows = [
        line
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    ]
    documented = {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row)}
    missing = set(GOLDEN) - {"ERROR_REASON_UNSPECIFIED"} - documented
    assert missing == set()


# -- the README's code table is what the server sends and what the clients decode

ROOT = README.parents[1]
PHP_CLIENT = ROOT / "clients" / "php" / "src" / "Client"
_MAIN_TABLE = "| Reason | Code |"
_OTHER_TABLE = "| Reason, when | Code |"


def _table(header: str) -> set[tuple[str, str]]:
    """(reason, code) pairs of one README table (rows up to the first blank line)."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(header) + 2
    pairs: set[tuple[str, str]] = set()
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        reasons, code = line.strip("|").split("|")[:2]
        (code_name,) = re.findall(r"`([A-Z_]+)`", code)
        pairs.update((r, code_name) for r in re.findall(r"`([A-Z0-9_]+)`", reasons))
    return pairs


def _server_pairs() -> set[tuple[str, str]]:
    from mt5gateway_server import errors  # noqa: PLC0415 - server side of the contract

    rules = [rule for _, rule in errors.STATUS_TABLE]
    rules += list(errors.RETCODE_RULES.values())
    pairs = {(error_reason_pb2.ErrorReason.Name(r.reason), r.code.name) for r in rules}
    classes = [errors.GatewayError]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        pairs.add((error_reason_pb2.ErrorReason.Name(cls.reason), cls.code.name))
    return pairs


def test_the_server_sends_only_documented_code_reason_pairs() -> None:
    documented = _table(_MAIN_TABLE) | _table(_OTHER_TABLE)
    assert _server_pairs() - documented == set()


def test_python_client_classes_follow_the_table() -> None:
    # decode() falls back to the code's class when the reason's class is not one of
    # its subclasses (POOL_EXHAUSTED sent as RESOURCE_EXHAUSTED became RateLimited).
    import grpc  # noqa: PLC0415
    from mt5gateway.client import errors as client  # noqa: PLC0415

    for reason, code in sorted(_table(_MAIN_TABLE)):
        by_code = client._BY_CODE[grpc.StatusCode[code]]
        assert issubclass(client._BY_REASON[reason], by_code), (reason, code)


def _php_parents() -> dict[str, str]:
    parents: dict[str, str] = {}
    for path in (PHP_CLIENT / "Exception").glob("*.php"):
        found = re.search(r"class (\w+) extends \\?(\w+)", path.read_text("utf-8"))
        assert found is not None, path
        parents[found[1]] = found[2]
    return parents


def test_php_status_decoder_follows_the_table() -> None:
    source = (PHP_CLIENT / "StatusDecoder.php").read_text("utf-8")
    by_reason = dict(re.findall(r"'([A-Z0-9_]+)' => Exception\\(\w+)::class", source))
    by_code = {
        int(n): cls
        for n, cls in re.findall(r"(\d+) => Exception\\(\w+)::class", source)
    }
    parents = _php_parents()

    def ancestors(cls: str) -> set[str]:
        found = {cls}
        while cls in parents:
            cls = parents[cls]
            found.add(cls)
        return found

    import grpc  # noqa: PLC0415

    for reason, code in sorted(_table(_MAIN_TABLE)):
        code_class = by_code[grpc.StatusCode[code].value[0]]
        assert code_class in ancestors(by_reason[reason]), (reason, code)
