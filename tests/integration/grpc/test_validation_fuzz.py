"""Random requests to every unary RPC of every ``mt5gateway.v1`` service.

The RPCs come from the generated descriptors (a new RPC is fuzzed without touching
this file); field values come from each field's descriptor: huge strings, control and
bidi characters, negative and extreme numbers, random bytes as page tokens, unknown
enum values, out-of-range times and amounts, mixed with seeded logins, groups and
symbols so that some calls get past validation. Every answer must be one of the
expected codes (never INTERNAL or UNKNOWN), and a refusal by the gateway's own checks
must leave mt5sim's request counters untouched.

The gateway and mt5sim are this module's own pair, on an event loop in a background
thread, so hypothesis drives plain synchronous calls (and can shrink a failure to a
minimal request). Write RPCs run too: the pair is not shared with other tests.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import pkgutil
import re
import string
import threading
from collections import Counter, defaultdict
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import mt5gateway.v1
import pytest
from google.api import field_behavior_pb2
from google.protobuf import descriptor, message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mt5gateway.v1 import user_pb2
from mt5sim import SimConfig, Simulator

from .conftest import decode_error, mt5_server, open_gateway

if TYPE_CHECKING:
    from collections.abc import Iterator

    from google.protobuf.message import Message

    from .conftest import RpcFailure

pytestmark = pytest.mark.integration

FD = descriptor.FieldDescriptor
OK = grpc.StatusCode.OK
# What a caller may get for any request, however odd.
ALLOWED = frozenset(
    {
        OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
# Answers only MT5 can give for a well-formed write: the login exists already
# (user/add 3004), the group is missing or not the manager's (8).
WRITE_EXTRAS: dict[str, frozenset[grpc.StatusCode]] = {
    "CreateUser": frozenset(
        {grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.PERMISSION_DENIED}
    ),
    "UpdateUser": frozenset({grpc.StatusCode.PERMISSION_DENIED}),
    "DeleteUser": frozenset({grpc.StatusCode.PERMISSION_DENIED}),
}
# Refusals decided by the gateway alone: MT5 must not have been asked.
GATEWAY_REASONS = frozenset(
    {"VALIDATION_FAILED", "INVALID_PAGE_TOKEN", "IDEMPOTENCY_CONFLICT"}
)
# Refusals that need the account's currency (its digits, its code): the account and
# its group are read, nothing is written.
NEEDS_ACCOUNT = {
    "CreateBalanceOperation": (
        frozenset({"user/get", "group/get"}),
        frozenset({"amount", "amount.currency_code"}),
    )
}
# An INVALID_ARGUMENT only MT5 can decide: a password outside the group's rules
# (complexity and minimum length are per group, retcode 3006).
MT5_DECIDES = {("CreateUser", "3006"), ("ChangeUserPassword", "3006")}
EXAMPLES = 50
# Answers per RPC (reason, or OK), across the module's run.
OUTCOMES: defaultdict[str, Counter[str]] = defaultdict(Counter)
HANDSHAKE = ("auth/start", "auth/answer")


def _unary_methods() -> list[descriptor.MethodDescriptor]:
    """Every unary RPC of every service in the generated ``mt5gateway.v1``."""
    methods = []
    for info in pkgutil.iter_modules(mt5gateway.v1.__path__):
        if not info.name.endswith("_service_pb2"):
            continue
        module = importlib.import_module(f"mt5gateway.v1.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            methods.extend(
                m
                for m in service.methods
                if not m.client_streaming and not m.server_streaming
            )
    return sorted(methods, key=lambda m: m.full_name)


METHODS = _unary_methods()


# ------------------------------------------------------------------ values

HUGE = "x" * 100_000
HOSTILE_TEXT = st.one_of(
    st.text(max_size=24),
    st.text(
        alphabet=st.characters(
            codec="utf-8",
            categories=("Cc", "Cf", "Zl", "Zp", "Zs", "Lo", "So", "Mn"),
        ),
        max_size=12,
    ),
    st.sampled_from(
        [
            "",
            " ",
            "*",
            "!",
            ",",
            "!*",
            "\\",
            "a,b",
            "\x00",
            "\n",
            "\x85",
            "\u202e",
            "\u2066x\u2069",
            "\u200f",
            "\ufeff",
            "\U0001f600" * 40,
            "=|\\\n",
            "%00",
            "../../etc/passwd",
            HUGE,
            "A" * 200,
        ]
    ),
)
PLAIN_TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + " .-@", min_size=1, max_size=12
).filter(lambda t: not t.isspace())
FIRST_LOGIN, LAST_LOGIN = 100_000, 100_059
_INT_BOUNDS = {
    FD.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FD.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FD.CPPTYPE_UINT32: (0, 2**32 - 1),
    FD.CPPTYPE_UINT64: (0, 2**64 - 1),
}
# Random bytes in the shape of a page token (base64url, no padding).
RANDOM_TOKENS = st.binary(max_size=40).map(
    lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
)
_PLAUSIBLE_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FD.CPPTYPE_STRING: PLAIN_TEXT,
    FD.CPPTYPE_BOOL: st.booleans(),
    **dict.fromkeys(_INT_BOUNDS, st.integers(0, 200)),
    FD.CPPTYPE_DOUBLE: st.floats(0, 100),
    FD.CPPTYPE_FLOAT: st.floats(0, 100, width=32),
}
_WELL_KNOWN = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.type.Money",
        "google.type.Decimal",
    }
)
_USER_FIELDS = tuple(f.name for f in user_pb2.User.DESCRIPTOR.fields)


def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    edges = (0, 1, -1, low, high, 99, 500, 501, 1000, 1001, 2**31 - 1)
    return st.one_of(
        st.sampled_from([v for v in edges if low <= v <= high]), st.integers(low, high)
    )


_HOSTILE_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FD.CPPTYPE_STRING: HOSTILE_TEXT,
    FD.CPPTYPE_BOOL: st.booleans(),
    **{kind: _ints(*bounds) for kind, bounds in _INT_BOUNDS.items()},
    FD.CPPTYPE_DOUBLE: st.floats(),
    FD.CPPTYPE_FLOAT: st.floats(width=32),
}


def _required(field: FD) -> bool:
    behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    return field_behavior_pb2.REQUIRED in behaviors


@dataclass(frozen=True)
class Values:
    """Field values per descriptor: plausible ones (seeded logins, groups, symbols,
    UUIDs, valid times and amounts) and hostile ones."""

    groups: tuple[str, ...]
    symbols: tuple[str, ...]
    tickets: tuple[int, ...]

    def plausible(self, field: FD) -> st.SearchStrategy[Any]:
        named = self._plausible_named(field.name)
        if named is not None:
            return named
        if field.cpp_type == FD.CPPTYPE_MESSAGE:
            return self._plausible_well_known(field.message_type.full_name)
        if field.cpp_type == FD.CPPTYPE_ENUM:
            return st.sampled_from([v.number for v in field.enum_type.values][1:])
        return _PLAUSIBLE_SCALARS[field.cpp_type]

    def hostile(self, field: FD) -> st.SearchStrategy[Any]:
        if field.cpp_type == FD.CPPTYPE_MESSAGE:
            return self._hostile_well_known(field.message_type.full_name)
        if field.cpp_type == FD.CPPTYPE_ENUM:
            numbers = [v.number for v in field.enum_type.values]
            return st.sampled_from([*numbers, -1, 99, 2**31 - 1])
        if field.name == "page_token":
            return st.one_of(RANDOM_TOKENS, HOSTILE_TEXT)
        if field.type == FD.TYPE_BYTES:
            return st.binary(max_size=256)
        return _HOSTILE_SCALARS[field.cpp_type]

    def _plausible_named(self, name: str) -> st.SearchStrategy[Any] | None:
        # Seeded logins and a few past them (CreateUser takes those; reads of them
        # are NOT_FOUND).
        logins = st.integers(FIRST_LOGIN, LAST_LOGIN + 40)
        groups = st.sampled_from(self.groups)
        symbols = st.sampled_from(self.symbols)
        passwords = st.sampled_from(["Secret#123", "Other#4567", "weakpass"])
        table: dict[str, st.SearchStrategy[Any]] = {
            "login": logins,
            "logins": logins,
            "agent": st.sampled_from([0, FIRST_LOGIN]),
            "ticket": st.sampled_from(self.tickets),
            "tickets": st.sampled_from(self.tickets),
            "server": st.sampled_from(["", "main"]),
            "request_id": st.uuids().map(str),
            "group": groups,
            "groups": st.one_of(groups, st.just("*"), groups.map(lambda g: "!" + g)),
            "masks": st.one_of(st.just("*"), groups, st.just("Forex\\*")),
            "symbol": symbols,
            "symbols": st.one_of(symbols, st.just("Forex\\*")),
            "password": passwords,
            "main_password": passwords,
            "investor_password": passwords,
            "new_password": passwords,
            "currency_code": st.sampled_from(["", "USD"]),
            "page_token": st.just(""),
            "page_size": st.integers(0, 50),
            "leverage": st.sampled_from([1, 100, 500]),
            "rights_mask": st.sampled_from([0, 355, 483]),
            "comment": PLAIN_TEXT.map(lambda t: t[:10]),
            "min_interval": st.just({"seconds": 1}),
        }
        return table.get(name)

    def _plausible_well_known(self, name: str) -> st.SearchStrategy[Any]:
        if name == "google.protobuf.Timestamp":
            return st.fixed_dictionaries(
                {
                    "seconds": st.integers(1_000_000_000, 1_900_000_000),
                    "nanos": st.integers(0, 999_999_999),
                }
            )
        if name == "google.protobuf.Duration":
            return st.fixed_dictionaries({"seconds": st.integers(0, 30)})
        if name == "google.protobuf.FieldMask":
            writable = ["name", "comment", "leverage", "group", "email", "agent"]
            return st.fixed_dictionaries(
                {
                    "paths": st.lists(
                        st.sampled_from(writable), min_size=1, max_size=3, unique=True
                    )
                }
            )
        if name == "google.type.Money":
            return st.fixed_dictionaries(
                {
                    "units": st.integers(1, 50) | st.integers(-50, -1),
                    "currency_code": st.sampled_from(["", "USD"]),
                }
            )
        if name == "google.type.Decimal":
            return st.just({"value": "1.5"})
        raise AssertionError(f"no plausible value for {name}")

    def _hostile_well_known(self, name: str) -> st.SearchStrategy[Any]:
        if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
            seconds = st.one_of(
                st.sampled_from(
                    [0, 1, -1, 32_535_215_999, 32_535_216_000, 253_402_300_799]
                ),
                st.integers(-(2**63), 2**63 - 1),
            )
            nanos = st.one_of(st.just(0), st.integers(-(2**31), 2**31 - 1))
            return st.fixed_dictionaries({"seconds": seconds, "nanos": nanos})
        if name == "google.protobuf.FieldMask":
            paths = st.one_of(st.sampled_from(_USER_FIELDS), HOSTILE_TEXT)
            return st.fixed_dictionaries({"paths": st.lists(paths, max_size=30)})
        if name == "google.type.Money":
            return st.fixed_dictionaries(
                {
                    "units": _ints(-(2**63), 2**63 - 1),
                    "nanos": st.integers(-(2**31), 2**31 - 1),
                    "currency_code": HOSTILE_TEXT,
                }
            )
        if name == "google.type.Decimal":
            values = st.sampled_from(["-0", "1e9999", "NaN", "1" * 100])
            return st.fixed_dictionaries({"value": st.one_of(values, HOSTILE_TEXT)})
        raise AssertionError(f"no hostile value for {name}")


@st.composite
def _message(
    draw: st.DrawFn, message: descriptor.Descriptor, values: Values, mode: str
) -> dict[str, Any]:
    """Field values for ``message``. ``plausible``: the required fields and a few
    others, all plausible; ``one_fault``: the same with one field (at any depth)
    hostile; ``hostile``: any fields, any values."""
    names = [f.name for f in message.fields]
    if mode == "hostile":
        chosen = draw(st.sets(st.sampled_from(names)))
    else:
        # The required fields, the record's login (UpdateUser needs it), a few more.
        always = {f.name for f in message.fields if _required(f) or f.name == "login"}
        optional = [f.name for f in message.fields if f.name not in always]
        chosen = always | draw(st.sets(st.sampled_from(optional), max_size=2))
    fault = draw(st.sampled_from(names)) if mode == "one_fault" else None
    if fault is not None:
        chosen.add(fault)
    out: dict[str, Any] = {}
    for field in message.fields:
        if field.name in chosen:
            field_mode = "one_fault" if field.name == fault else mode
            out[field.name] = draw(_value(field, values, field_mode))
    return out


def _value(field: FD, values: Values, mode: str) -> st.SearchStrategy[Any]:
    nested = (
        field.cpp_type == FD.CPPTYPE_MESSAGE
        and field.message_type.full_name not in _WELL_KNOWN
    )
    if nested:
        inner = "hostile" if mode == "hostile" else "plausible"
        element = _message(field.message_type, values, inner)
        faulty = _message(field.message_type, values, "one_fault")
    else:
        element = (values.hostile if mode == "hostile" else values.plausible)(field)
        faulty = values.hostile(field)
    if not field.is_repeated:
        return faulty if mode == "one_fault" else element
    if mode == "plausible":
        return st.lists(element, min_size=1, max_size=3)
    # One bad entry among good ones, or a list far over any limit (of short entries:
    # 5000 copies of a 100 kB string would only test gRPC's message size limit).
    short = _message(field.message_type, values, "plausible") if nested else None
    oversized = short if short is not None else values.plausible(field)
    return st.one_of(
        st.tuples(st.lists(element, max_size=2), faulty).map(lambda p: [*p[0], p[1]]),
        st.tuples(oversized, st.sampled_from([101, 1001, 5000])).map(
            lambda p: [p[0]] * p[1]
        ),
    )


def _requests(
    method: descriptor.MethodDescriptor, values: Values
) -> st.SearchStrategy[Message]:
    cls = message_factory.GetMessageClass(method.input_type)
    modes = st.sampled_from(
        ["plausible", "plausible", "one_fault", "one_fault", "hostile"]
    )
    return modes.flatmap(lambda mode: _message(method.input_type, values, mode)).map(
        lambda fields: cls(**fields)
    )


# ------------------------------------------------------------------ the pair


@dataclass
class Pair:
    """mt5sim and a gateway on a loop in another thread; a channel to the gateway."""

    loop: asyncio.AbstractEventLoop
    sim: Simulator
    channel: grpc.Channel
    values: Values

    def requests(self) -> dict[str, int]:
        """mt5sim's request counters by command, handshakes left out (a session
        may re-connect in the background at any time)."""

        async def snapshot() -> dict[str, int]:
            counts: dict[str, int] = dict(self.sim.stats()["requests"])  # type: ignore[call-overload]
            return {k: v for k, v in counts.items() if k not in HANDSHAKE}

        return asyncio.run_coroutine_threadsafe(snapshot(), self.loop).result(10)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    loop = asyncio.new_event_loop()
    started: Future[tuple[Simulator, str, asyncio.Event]] = Future()

    async def serve() -> None:
        stop = asyncio.Event()
        config = SimConfig(tls=False, seed=1, ticks_per_second=0, idle_timeout=170.0)
        try:
            async with Simulator(config) as sim:
                # No keep-alive ping during the run: counters move only for calls.
                main = mt5_server(sim, ping_interval_seconds=170.0)
                async with open_gateway(sim, mt5={"main": main}) as gateway:
                    started.set_result((sim, gateway.target, stop))
                    await stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    def run() -> None:
        try:
            loop.run_until_complete(serve())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="fuzz-pair")
    thread.start()
    sim, target, stop = started.result(60)
    broker = sim.broker
    values = Values(
        groups=tuple(g.name for g in broker.groups.values()),
        symbols=tuple(broker.symbols),
        tickets=(*sorted(broker.deals)[:10], *sorted(broker.orders)[:10], 1),
    )
    with grpc.insecure_channel(target) as channel:
        yield Pair(loop=loop, sim=sim, channel=channel, values=values)
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    assert not thread.is_alive()


# ------------------------------------------------------------------ the test


def _secrets(request: Message) -> list[str]:
    names = ("password", "main_password", "investor_password", "new_password")
    fields = request.DESCRIPTOR.fields_by_name
    return [
        getattr(request, n)
        for n in names
        if n in fields and len(getattr(request, n)) >= 6
    ]


def _check_answer(
    pair: Pair, method: descriptor.MethodDescriptor, request: Message
) -> None:
    response_type = message_factory.GetMessageClass(method.output_type)
    call = pair.channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=type(request).SerializeToString,
        response_deserializer=response_type.FromString,
    )
    before = pair.requests()
    try:
        call(request, timeout=10)
    except grpc.RpcError as exc:
        failure = decode_error(exc)  # type: ignore[arg-type]
    else:
        OUTCOMES[method.name]["OK"] += 1
        return
    OUTCOMES[method.name][failure.reason or failure.code.name] += 1
    allowed = ALLOWED | WRITE_EXTRAS.get(method.name, frozenset())
    assert failure.code in allowed, (failure.code, failure.reason, failure.message)
    assert failure.info is not None, "every error carries ErrorInfo"
    for secret in _secrets(request):
        assert secret not in failure.message
        assert secret not in str(failure.bad_request)
    if failure.code is not grpc.StatusCode.INVALID_ARGUMENT:
        return
    if failure.reason in GATEWAY_REASONS:
        after = pair.requests()
        if after != before:
            _check_lookup(method.name, before, after, failure)
        assert failure.bad_request is not None
        assert failure.bad_request.field_violations
        fields = request.DESCRIPTOR.fields_by_name
        for violation in failure.bad_request.field_violations:
            # The violation names a field of this request (a proto path).
            assert re.split(r"[.\[]", violation.field)[0] in fields, violation.field
            assert len(violation.description) < 200, violation.description
        assert len(failure.message) < 1200
    else:
        decided = (method.name, failure.metadata.get("retcode", ""))
        assert decided in MT5_DECIDES, (
            "MT5 refused what the gateway let through",
            failure.reason,
            failure.message,
        )


def _check_lookup(
    method: str, before: dict[str, int], after: dict[str, int], failure: RpcFailure
) -> None:
    """A refusal after MT5 was asked: only the reads a check needs, for its fields."""
    asked = {k for k in after if after[k] != before.get(k, 0)}
    reads, fields = NEEDS_ACCOUNT.get(method, (frozenset(), frozenset()))
    assert asked <= reads, (f"{failure.reason} after MT5 calls", asked, failure.fields)
    assert set(failure.fields) <= fields, (asked, failure.fields)


@pytest.mark.parametrize(
    "method", METHODS, ids=lambda m: m.full_name.rsplit(".", 2)[-2] + "." + m.name
)
def test_random_requests_get_expected_answers(
    pair: Pair, method: descriptor.MethodDescriptor
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_requests(method, pair.values))
    def run(request: Message) -> None:
        _check_answer(pair, method, request)

    run()


def test_the_fuzz_reaches_mt5() -> None:
    """Not every request may die in validation: a fuzz that never gets past it
    would prove nothing about the rest."""
    if not OUTCOMES:
        pytest.skip("no fuzzed RPC ran in this session")
    total = sum(sum(c.values()) for c in OUTCOMES.values())
    refused = sum(c[r] for c in OUTCOMES.values() for r in GATEWAY_REASONS)
    answered = [name for name, c in OUTCOMES.items() if c["OK"]]
    summary = {name: dict(c) for name, c in sorted(OUTCOMES.items())}
    print("fuzz outcomes:", summary)  # noqa: T201 - shown with -s, for tuning
    assert total - refused >= total // 4, summary
    assert len(answered) >= len(OUTCOMES) // 2, summary


def test_every_service_is_fuzzed() -> None:
    services = {m.containing_service.name for m in METHODS}
    assert {
        "UserService",
        "TradeService",
        "ConfigService",
        "ServerService",
        "QuoteService",
    } <= services
    assert len(METHODS) >= 40
