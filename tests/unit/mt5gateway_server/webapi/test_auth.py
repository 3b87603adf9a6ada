import pytest
from mt5gateway_server.webapi import auth

# The official example and our extra vectors (docs/mt5-webapi.md#password-hash).
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
        "\u041f\u0430\u0440\u043e\u043b\u044c1!",  # a Cyrillic password (non-ASCII)
        "739b5ce78ab5e167a39e20a7662b3c2d",
        "73007dc7184747ce0f7c98516ef1c851",
        "2033fffae53765ac1664cf745508ab51",
        "4db98fec17aab4dc5a240bdc659e8395",
        "ce3412ef2e1733582f04b48fbead4843",
    ),
]


@pytest.mark.parametrize(
    ("password", "pw_hash", "srv", "srv_ans", "cli", "cli_ans"), VECTORS
)
def test_hash_vectors(password, pw_hash, srv, srv_ans, cli, cli_ans):  # noqa: PLR0917
    h = auth.password_hash(password)
    assert h.hex() == pw_hash
    assert auth.rand_answer(h, srv) == srv_ans
    assert auth.rand_answer(h, cli) == cli_ans


def test_pymt5pure_vector():
    h = auth.password_hash("demoPASWORD^123")
    answer = auth.rand_answer(h, "904ba8ecb16273d2f0ae9c3b8a023752")
    assert answer == "280e4b5c1b77289603b9e048b3985058"


def test_common_mistakes_differ():
    # UTF-8 instead of UTF-16LE gives the documented wrong answer, not ours.
    right = auth.rand_answer(
        auth.password_hash("Password1"), "73007dc7184747ce0f7c98516ef1c851"
    )
    assert right != "88f76305f9676927bb90e08f5c35edd5"
    assert right != "f34896aadeff41d6ed85c5920e67de5e"


def test_cli_rand_is_32_hex_and_random():
    a, b = auth.new_cli_rand(), auth.new_cli_rand()
    assert len(a) == 32
    int(a, 16)
    assert a != b


def test_answers_match_is_case_insensitive():
    assert auth.answers_match("abcdef", "ABCDEF")
    assert not auth.answers_match("abcdef", "abcdee")
