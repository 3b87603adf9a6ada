import hashlib

import pytest
from mt5sim.auth import (
    AnswerFailure,
    AuthState,
    Handshake,
    StartRequest,
    parse_rand,
    password_hash,
    rand_answer,
    validate_start,
)

# Official example and our additional vectors (docs/mt5-webapi.md#password-hash).
VECTORS = [
    (
        "Password1",
        "904ba8ecb16273d2f0ae9c3b8a023752",
        "73007dc7184747ce0f7c98516ef1c851",
        "77fe51827f7fa69dd80fbec9aa33f1bb",
        "4db98fec17aab4dc5a240bdc659e8395",
        "1732021b1b332f51660b2b315eed3a35",
    ),
    (
        "Str0ng#Pass",
        "ebed81cc980c0a9ee9082b05b570dbe6",
        "00112233445566778899aabbccddeeff",
        "41d3bde36dfe55ed1710c4a009456799",
        "ffeeddccbbaa99887766554433221100",
        "cf601cd54400b2894e8927cd35fb5296",
    ),
    (
        "Пароль1!",  # noqa: RUF001 - non-ASCII on purpose
        "739b5ce78ab5e167a39e20a7662b3c2d",
        "73007dc7184747ce0f7c98516ef1c851",
        "2033fffae53765ac1664cf745508ab51",
        "4db98fec17aab4dc5a240bdc659e8395",
        "ce3412ef2e1733582f04b48fbead4843",
    ),
]


@pytest.mark.parametrize(("pw", "pw_hash", "srv", "srv_ans", "cli", "cli_ans"), VECTORS)
def test_hash_vectors(pw, pw_hash, srv, srv_ans, cli, cli_ans) -> None:  # noqa: PLR0917
    h = password_hash(pw)
    assert h.hex() == pw_hash
    assert rand_answer(h, bytes.fromhex(srv)) == srv_ans
    assert rand_answer(h, bytes.fromhex(cli)) == cli_ans


def test_intermediate_official_values() -> None:
    utf16 = "Password1".encode("utf-16-le")
    assert utf16.hex() == "500061007300730077006f00720064003100"
    assert hashlib.md5(utf16).hexdigest() == "ec2e92ff70bf4691ae0c68e02fdc6c22"  # noqa: S324


def test_pymt5pure_vector() -> None:
    h = password_hash("demoPASWORD^123")
    srv = bytes.fromhex("904ba8ecb16273d2f0ae9c3b8a023752")
    assert rand_answer(h, srv) == "280e4b5c1b77289603b9e048b3985058"


def test_wrong_variants_differ() -> None:
    srv = bytes.fromhex("73007dc7184747ce0f7c98516ef1c851")
    h1 = hashlib.md5(b"Password1").digest()  # noqa: S324
    utf8_hash = hashlib.md5(h1 + b"WebAPI").digest()  # noqa: S324
    assert rand_answer(utf8_hash, srv) == "88f76305f9676927bb90e08f5c35edd5"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("73007dc7184747ce0f7c98516ef1c851", True),
        ("73007DC7184747CE0F7C98516EF1C851", True),
        ("73007dc7", False),
        ("zz007dc7184747ce0f7c98516ef1c851", False),
        (None, False),
    ],
)
def test_parse_rand(value, ok) -> None:
    assert (parse_rand(value) is not None) is ok


LOGINS = frozenset({1000})


@pytest.mark.parametrize(
    ("req", "code"),
    [
        (StartRequest("3470", "WebManager", "1000", "manager"), 0),
        (StartRequest("484", "WebManager", "1000", "MANAGER"), 0),
        (StartRequest("483", "WebManager", "1000", "manager"), 1010),
        (StartRequest("3470", "WebManager", "1001", "manager"), 1001),
        (StartRequest("3470", "Web Manager", "1000", "manager"), 3),
        (StartRequest("3470", "", "1000", "manager"), 3),
        (StartRequest("3470", None, "1000", "manager"), 3),
        # Wrong terminal type: 1000 MT_RET_AUTH_CLIENT_INVALID; a missing one is 3.
        (StartRequest("3470", "WebManager", "1000", "client"), 1000),
        (StartRequest("3470", "WebManager", "1000", None), 3),
        (StartRequest("3470", "WebManager", "1000", ""), 3),
        (StartRequest(None, "WebManager", "1000", "manager"), 3),
        (StartRequest("3470", "WebManager", "abc", "manager"), 3),
    ],
)
def test_validate_start(req, code) -> None:
    assert validate_start(req, LOGINS) == code


SRV = bytes.fromhex("73007dc7184747ce0f7c98516ef1c851")
PW = password_hash("Password1")


def _started(now: float = 100.0) -> Handshake:
    hs = Handshake()
    hs.start(1000, PW, SRV, now, 10.0)
    assert hs.state is AuthState.STARTED
    return hs


def test_handshake_success() -> None:
    hs = _started()
    result = hs.answer(
        "77fe51827f7fa69dd80fbec9aa33f1bb", "4db98fec17aab4dc5a240bdc659e8395", 109.9
    )
    assert result == "1732021b1b332f51660b2b315eed3a35"
    assert hs.authenticated
    assert hs.login == 1000


def test_handshake_upper_case_hex() -> None:
    cli = "4db98fec17aab4dc5a240bdc659e8395"
    upper = "77FE51827F7FA69DD80FBEC9AA33F1BB"
    assert isinstance(_started().answer(upper, cli, 101.0), str)
    result = _started().answer(upper, cli, 101.0, case_sensitive_hex=True)
    assert result is AnswerFailure.WRONG


@pytest.mark.parametrize(
    ("srv_answer", "cli", "now", "failure"),
    [
        (
            "77fe51827f7fa69dd80fbec9aa33f1bb",
            "4db98fec17aab4dc5a240bdc659e8395",
            110.1,
            AnswerFailure.LATE,
        ),
        (
            "00fe51827f7fa69dd80fbec9aa33f1bb",
            "4db98fec17aab4dc5a240bdc659e8395",
            101.0,
            AnswerFailure.WRONG,
        ),
        ("77fe51827f7fa69dd80fbec9aa33f1bb", "4db98f", 101.0, AnswerFailure.MALFORMED),
        (None, "4db98fec17aab4dc5a240bdc659e8395", 101.0, AnswerFailure.MALFORMED),
    ],
)
def test_handshake_failures(srv_answer, cli, now, failure) -> None:
    hs = _started()
    assert hs.answer(srv_answer, cli, now) is failure
    assert hs.state is AuthState.NEW
    assert hs.login is None


def test_answer_without_start() -> None:
    hs = Handshake()
    result = hs.answer(
        "77fe51827f7fa69dd80fbec9aa33f1bb", "4db98fec17aab4dc5a240bdc659e8395", 0.0
    )
    assert result is AnswerFailure.NOT_STARTED


def test_answer_twice_fails() -> None:
    hs = _started()
    args = ("77fe51827f7fa69dd80fbec9aa33f1bb", "4db98fec17aab4dc5a240bdc659e8395")
    assert isinstance(hs.answer(*args, 101.0), str)
    assert hs.answer(*args, 102.0) is AnswerFailure.NOT_STARTED


def test_restart_forgets_session() -> None:
    hs = _started()
    hs.answer(
        "77fe51827f7fa69dd80fbec9aa33f1bb", "4db98fec17aab4dc5a240bdc659e8395", 101.0
    )
    hs.start(1000, PW, bytes(16), 200.0, 10.0)
    assert not hs.authenticated
    assert hs.state is AuthState.STARTED
