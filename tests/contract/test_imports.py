"""Every generated module imports; every .proto file has generated Python and PHP."""

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "protos" / "mt5gateway" / "v1"
PY_DIR = ROOT / "clients" / "python" / "src" / "mt5gateway" / "v1"
PHP_DIR = ROOT / "clients" / "php" / "generated"
STEMS = sorted(p.stem for p in PROTO_DIR.glob("*.proto"))
SERVICES = [s for s in STEMS if s.endswith("_service")]


def pascal(stem: str) -> str:
    return "".join(part.capitalize() for part in stem.split("_"))


def test_protos_exist() -> None:
    assert "error_reason" in STEMS
    assert SERVICES


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("suffix", ["_pb2", "_pb2_grpc"])
def test_python_module_imports(stem: str, suffix: str) -> None:
    module = importlib.import_module(f"mt5gateway.v1.{stem}{suffix}")
    assert module.__name__ == f"mt5gateway.v1.{stem}{suffix}"


@pytest.mark.parametrize("stem", STEMS)
def test_python_stubs_exist(stem: str) -> None:
    for suffix in ("_pb2.pyi", "_pb2_grpc.pyi"):
        assert (PY_DIR / f"{stem}{suffix}").is_file()


@pytest.mark.parametrize("stem", SERVICES)
def test_python_service_stub_and_servicer(stem: str) -> None:
    module = importlib.import_module(f"mt5gateway.v1.{stem}_pb2_grpc")
    service = pascal(stem)
    assert hasattr(module, f"{service}Stub")
    assert hasattr(module, f"{service}Servicer")
    assert hasattr(module, f"add_{service}Servicer_to_server")


@pytest.mark.parametrize("stem", STEMS)
def test_php_metadata_class_exists(stem: str) -> None:
    path = PHP_DIR / "GPBMetadata" / "Mt5Gateway" / "V1" / f"{pascal(stem)}.php"
    assert path.is_file()
    # The metadata class embeds the binary descriptor: compare bytes.
    assert b"namespace GPBMetadata\\Mt5Gateway\\V1;" in path.read_bytes()


@pytest.mark.parametrize("stem", SERVICES)
def test_php_client_exists(stem: str) -> None:
    path = PHP_DIR / "Mt5Gateway" / "V1" / f"{pascal(stem)}Client.php"
    text = path.read_text(encoding="utf-8")
    assert "namespace Mt5Gateway\\V1;" in text
    assert "extends \\Grpc\\BaseStub" in text


def test_no_stray_generated_python() -> None:
    expected = {"__init__.py", "py.typed"} | {
        f"{stem}{suffix}"
        for stem in STEMS
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
    }
    actual = {p.name for p in PY_DIR.iterdir() if p.is_file()}
    assert actual == expected
