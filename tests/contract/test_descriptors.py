"""The contract's rules (docs/architecture.md, "Protobuf contract") checked on the
compiled descriptors.

buf lint covers naming and comments; these tests cover what buf cannot: money and time
types, idempotency and pagination fields, the `server` selector and the stream envelope.
"""

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    FileDescriptor,
    MethodDescriptor,
)

# googleapis-common-protos ships .pyi files but no py.typed marker: imported dynamically
# so that mypy strict passes with or without a follow_untyped_imports override.
field_behavior_pb2 = importlib.import_module("google.api.field_behavior_pb2")

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "protos" / "mt5gateway" / "v1"
PACKAGE = "mt5gateway.v1"

# Read-only verbs; any other verb is a mutation and needs a request_id (AIP-155).
READ_VERBS = ("Get", "List", "BatchGet", "Check", "Stream")
# The one request that is not about a single MT5 server.
NO_SERVER_FIELD = {"ListServersRequest"}
# The reviewed server-streaming exceptions (buf.yaml RPC_NO_SERVER_STREAMING).
SERVER_STREAMS = {"mt5gateway.v1.QuoteService.StreamQuotes"}


def load_files() -> list[FileDescriptor]:
    files = []
    for path in sorted(PROTO_DIR.glob("*.proto")):
        module = importlib.import_module(f"mt5gateway.v1.{path.stem}_pb2")
        descriptor: FileDescriptor = module.DESCRIPTOR
        files.append(descriptor)
    return files


FILES = load_files()


def walk(message: Descriptor) -> Iterator[Descriptor]:
    yield message
    for nested in message.nested_types:
        if not nested.GetOptions().map_entry:
            yield from walk(nested)


MESSAGES = [
    m for f in FILES for top in f.message_types_by_name.values() for m in walk(top)
]
FIELDS = [field for m in MESSAGES for field in m.fields]
METHODS = [
    method
    for f in FILES
    for service in f.services_by_name.values()
    for method in service.methods
]
REQUESTS = [m for m in MESSAGES if m.name.endswith("Request")]


def method_id(method: MethodDescriptor) -> str:
    return method.full_name


def verb(method: MethodDescriptor) -> str:
    return next((v for v in READ_VERBS if method.name.startswith(v)), "mutation")


def test_every_file_is_in_the_package_and_sets_php_namespaces() -> None:
    for file in FILES:
        assert file.package == PACKAGE
        options = file.GetOptions()
        assert options.php_namespace == "Mt5Gateway\\V1", file.name
        assert options.php_metadata_namespace == "GPBMetadata\\Mt5Gateway\\V1", (
            file.name
        )


def test_services_are_in_their_service_files() -> None:
    for file in FILES:
        stem = Path(file.name).stem
        services = list(file.services_by_name)
        if stem.endswith("_service"):
            expected = "".join(p.capitalize() for p in stem.split("_"))
            assert services == [expected]
        else:
            assert services == [], file.name


@pytest.mark.parametrize("method", METHODS, ids=method_id)
def test_rpc_has_its_own_request_and_response(method: MethodDescriptor) -> None:
    assert method.input_type.name == f"{method.name}Request"
    assert method.output_type.name == f"{method.name}Response"
    assert method.input_type.file is method.containing_service.file
    assert method.output_type.file is method.containing_service.file


def test_requests_and_responses_are_unique() -> None:
    used = [m.input_type.full_name for m in METHODS]
    used += [m.output_type.full_name for m in METHODS]
    assert len(used) == len(set(used))
    # No Request/Response message is left without its RPC, nor used as a field.
    pairs = {m.name for m in MESSAGES if m.name.endswith(("Request", "Response"))}
    assert pairs == {name.rsplit(".", 1)[1] for name in used}
    for field in FIELDS:
        if field.message_type is not None:
            assert field.message_type.full_name not in used, field.full_name


def message_name(field: FieldDescriptor) -> str | None:
    return None if field.message_type is None else field.message_type.full_name


def test_no_floating_point_fields() -> None:
    floats = (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE)
    assert [f.full_name for f in FIELDS if f.type in floats] == []


def test_no_unsigned_integer_fields() -> None:
    unsigned = (
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
    )
    assert [f.full_name for f in FIELDS if f.type in unsigned] == []


def test_logins_and_tickets_are_int64() -> None:
    keys = {"login", "logins", "ticket", "tickets", "deal_ticket", "agent", "dealer"}
    keys |= {"position_id", "position_by_id", "order_ticket"}
    keys |= {f.name for f in FIELDS if f.name.endswith("_ticket")}
    offenders = [
        f.full_name
        for f in FIELDS
        if f.name in keys and f.type != FieldDescriptor.TYPE_INT64
    ]
    assert offenders == []


def test_times_are_timestamps_named_time() -> None:
    offenders = [
        f.full_name
        for f in FIELDS
        if (message_name(f) == "google.protobuf.Timestamp") != f.name.endswith("_time")
    ]
    assert offenders == []


def test_prices_volumes_and_rates_are_decimals() -> None:
    names = {"price", "bid", "ask", "last", "open", "high", "low", "close", "volume"}
    names |= {"contract_size", "stop_loss", "take_profit", "point"}
    suffixes = ("_price", "_rate", "_volume", "_low", "_high", "volume_min")
    offenders = [
        f.full_name
        for f in FIELDS
        if (f.name in names or f.name.endswith(suffixes))
        and message_name(f) != "google.type.Decimal"
    ]
    assert offenders == []


def test_account_money_is_money() -> None:
    names = {"balance", "credit", "equity", "margin", "margin_free", "profit"}
    names |= {"storage", "commission", "fee", "amount", "floating"}
    offenders = [
        f.full_name
        for f in FIELDS
        if f.name in names and message_name(f) != "google.type.Money"
    ]
    assert offenders == []


@pytest.mark.parametrize("method", METHODS, ids=method_id)
def test_mutations_have_request_id(method: MethodDescriptor) -> None:
    field = method.input_type.fields_by_name.get("request_id")
    if verb(method) == "mutation":
        assert field is not None, f"{method.full_name} mutates: request_id required"
        assert field.type == FieldDescriptor.TYPE_STRING
    else:
        assert field is None, f"{method.full_name} reads: no request_id"


@pytest.mark.parametrize("method", METHODS, ids=method_id)
def test_lists_are_paginated(method: MethodDescriptor) -> None:
    request, response = method.input_type, method.output_type
    # List RPCs and mask-based batches (whose size MT5 decides) must page.
    must_page = verb(method) == "List" or "groups" in request.fields_by_name
    has_page_size = "page_size" in request.fields_by_name
    if not (must_page or has_page_size):
        return
    assert request.fields_by_name["page_size"].type == FieldDescriptor.TYPE_INT32
    assert request.fields_by_name["page_token"].type == FieldDescriptor.TYPE_STRING
    token = response.fields_by_name["next_page_token"]
    assert token.type == FieldDescriptor.TYPE_STRING
    repeated = [f for f in response.fields if f.is_repeated]
    assert len(repeated) == 1, "one repeated result field per page"


@pytest.mark.parametrize("request_type", REQUESTS, ids=lambda m: m.name)
def test_requests_select_the_mt5_server(request_type: Descriptor) -> None:
    field = request_type.fields_by_name.get("server")
    if request_type.name in NO_SERVER_FIELD:
        assert field is None
        return
    assert field is not None, f"{request_type.name} needs `string server = 1`"
    assert field.number == 1
    assert field.type == FieldDescriptor.TYPE_STRING


def test_only_reviewed_streams() -> None:
    assert not [m.full_name for m in METHODS if m.client_streaming]
    assert {m.full_name for m in METHODS if m.server_streaming} == SERVER_STREAMS


def test_stream_quotes_envelope() -> None:
    from mt5gateway.v1 import quote_service_pb2  # noqa: PLC0415

    response = quote_service_pb2.StreamQuotesResponse.DESCRIPTOR
    event = response.oneofs_by_name["event"]
    numbers = {f.name: f.number for f in event.fields}
    assert numbers["quote"] == 1
    assert numbers["heartbeat"] == 2
    heartbeat = response.fields_by_name["heartbeat"].message_type
    assert heartbeat is not None
    assert heartbeat.full_name == "mt5gateway.v1.Heartbeat"
    sequence = response.fields_by_name["sequence"]
    assert sequence.number == 15
    assert sequence.type == FieldDescriptor.TYPE_INT64


@pytest.mark.parametrize(
    "enum",
    [e for f in FILES for e in f.enum_types_by_name.values()],
    ids=lambda e: e.name,
)
def test_enums_start_with_unspecified(enum: EnumDescriptor) -> None:
    first = enum.values[0]
    assert first.number == 0
    assert first.name.endswith("_UNSPECIFIED")


def behaviors(field: FieldDescriptor) -> set[int]:
    extension = field_behavior_pb2.field_behavior
    return {int(b) for b in field.GetOptions().Extensions[extension]}


def owner(field: FieldDescriptor) -> str:
    return "" if field.containing_type is None else field.containing_type.full_name


REQUIRED: int = field_behavior_pb2.REQUIRED
OUTPUT_ONLY: int = field_behavior_pb2.OUTPUT_ONLY


def test_request_id_is_required() -> None:
    offenders = [
        f.full_name
        for f in FIELDS
        if f.name == "request_id"
        and owner(f).endswith("Request")
        and REQUIRED not in behaviors(f)
    ]
    assert offenders == []


def test_field_behavior_only_where_it_is_enforced() -> None:
    # REQUIRED is checked by the server on requests (top level) and on User (written
    # by CreateUser/UpdateUser); OUTPUT_ONLY only on User. Records that are only read
    # carry no annotations.
    offenders = [
        f.full_name
        for f in FIELDS
        if behaviors(f)
        and not owner(f).endswith("Request")
        and owner(f) != "mt5gateway.v1.User"
    ]
    assert offenders == []
    assert not [f.full_name for f in FIELDS if behaviors(f) - {REQUIRED, OUTPUT_ONLY}]


def test_selectors_and_pagination_are_not_required() -> None:
    optional = {"server", "page_size", "page_token", "logins", "tickets"}
    offenders = [
        f.full_name for f in FIELDS if f.name in optional and REQUIRED in behaviors(f)
    ]
    assert offenders == []


def test_field_names_have_no_prepositions() -> None:
    # AIP-140. The one exception keeps MT5's name (protos/README.md, "Deviations").
    allowed = {"mt5gateway.v1.Order.position_by_id"}
    prepositions = {"after", "at", "before", "between", "by", "during", "except", "for"}
    prepositions |= {"from", "in", "into", "of", "over", "per", "since", "to", "until"}
    prepositions |= {"via", "with", "without"}
    offenders = [
        f.full_name
        for f in FIELDS
        if set(f.name.split("_")) & prepositions and f.full_name not in allowed
    ]
    assert offenders == []


def test_booleans_have_no_is_prefix() -> None:
    offenders = [
        f.full_name
        for f in FIELDS
        if f.type == FieldDescriptor.TYPE_BOOL and f.name.startswith("is_")
    ]
    assert offenders == []


@pytest.mark.parametrize("method", METHODS, ids=method_id)
def test_no_client_streaming(method: MethodDescriptor) -> None:
    # The server's CallInterceptor (caller auth, access line, error mapping) wraps
    # unary-request handlers only; a client-streaming RPC would need it extended first.
    assert not method.client_streaming
