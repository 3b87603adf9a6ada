"""Static checks of docker/ (no Docker engine here, no sockets, no PyYAML in the venv).

The compose file is read as text with a tiny indentation walker that understands just
what docker/compose.yaml uses; when the ``docker-compose`` binary exists it validates
the file as well. What the image runs is checked against the real argument parsers,
console scripts and settings model, so a renamed flag or env var fails here.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from mt5gateway_server.__main__ import build_parser as gateway_parser
from mt5gateway_server.settings import Mt5ServerSettings, Settings
from mt5sim.__main__ import build_parser as sim_parser
from mt5sim.config import SimConfig
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"


# ---------------------------------------------------------------- helpers


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip())


def _child(lines: list[str], key: str) -> list[str]:
    level = min(_depth(line) for line in lines)
    for i, line in enumerate(lines):
        if _depth(line) == level and line.strip().startswith(f"{key}:"):
            body: list[str] = []
            for rest in lines[i + 1 :]:
                if _depth(rest) <= level:
                    break
                body.append(rest)
            return body
    raise AssertionError(f"no {key!r} in the compose block")


def _block(lines: list[str], *keys: str) -> list[str]:
    """Lines nested under ``keys`` (each a child of the previous) in block YAML."""
    for key in keys:
        lines = _child(lines, key)
    return lines


def _items(block: list[str]) -> list[str]:
    """The scalars of a block list (``- value``), unquoted."""
    return [
        line.strip()[2:].strip().strip("\"'")
        for line in block
        if line.strip().startswith("- ")
    ]


def _mapping(block: list[str]) -> dict[str, str]:
    """First-level ``key: value`` pairs of a block, values unquoted."""
    level = min(_depth(line) for line in block)
    out: dict[str, str] = {}
    for line in block:
        if _depth(line) != level or ":" not in line:
            continue
        key, _, value = line.strip().partition(":")
        out[key] = value.strip().strip("\"'")
    return out


def _compose_lines() -> list[str]:
    """Non-blank, non-comment lines (comments may sit at any indentation)."""
    return [
        line
        for line in COMPOSE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current = f"{current} {line}" if current else line
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        logical.append(current)
        current = ""
    return [(x.split(None, 1)[0].upper(), x.split(None, 1)[1]) for x in logical]


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    name = ""
    for instruction, args in _dockerfile_instructions():
        if instruction == "FROM":
            words = args.split()
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else args
            stages[name] = []
        elif name:
            stages[name].append((instruction, args))
    return stages


def _exec_form(args: str) -> list[str]:
    assert args.startswith("["), f"use the exec form (JSON array): {args}"
    return list(re.findall(r'"((?:[^"\\]|\\.)*)"', args))


def _console_scripts(pyproject: Path) -> dict[str, str]:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    scripts: dict[str, str] = data["project"]["scripts"]
    return scripts


def _dockerignore_allows(path: str) -> bool:
    allowed = False
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        if fnmatch(path, pattern) or path.startswith(pattern + "/"):
            allowed = negate
    return allowed


# ---------------------------------------------------------------- Dockerfile


def test_copy_sources_exist_and_pass_dockerignore() -> None:
    copies = [
        args
        for _, instructions in _stages().items()
        for instruction, args in instructions
        if instruction == "COPY" and not args.startswith("--from")
    ]
    assert copies
    for args in copies:
        *sources, _dest = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert _dockerignore_allows(source.rstrip("/")), f"{source}: .dockerignore"


def test_dockerignore_keeps_secrets_and_venv_out() -> None:
    for path in ("docker/secrets/mt5_main_password", ".venv", ".git", "docker"):
        assert not _dockerignore_allows(path), path


def test_gateway_stage_runs_the_console_script_as_non_root() -> None:
    stages = _stages()
    assert list(stages)[-1] == "gateway", "the default target must be the gateway"
    gateway = dict(stages["gateway"])
    entrypoint = _exec_form(gateway["ENTRYPOINT"])
    scripts = _console_scripts(ROOT / "server" / "pyproject.toml")
    assert entrypoint == ["mt5gateway"]
    assert entrypoint[0] in scripts
    # CMD parses with the real CLI.
    args = gateway_parser().parse_args(_exec_form(gateway["CMD"]))
    assert args.command == "serve"
    assert args.listen == "0.0.0.0:50051"
    assert gateway["USER"].split(":")[0] not in {"0", "root"}


def test_gateway_keeps_its_write_store_on_a_volume_it_owns() -> None:
    instructions = _stages()["gateway"]
    env = " ".join(arg for name, arg in instructions if name == "ENV")
    assert "MT5GW_DATA_DIR=/var/lib/mt5gateway" in env
    volumes = [arg for name, arg in instructions if name == "VOLUME"]
    assert volumes == ['["/var/lib/mt5gateway"]']
    runs = " ".join(arg for name, arg in instructions if name == "RUN")
    assert "chown mt5gw:mt5gw /var/lib/mt5gateway" in runs


def test_gateway_healthcheck_runs_the_shipped_probe_on_the_served_port() -> None:
    gateway = _stages()["gateway"]
    copied = {
        shlex.split(args)[-1]: shlex.split(args)[0]
        for instruction, args in gateway
        if instruction == "COPY" and not args.startswith("--from")
    }
    health = next(args for instruction, args in gateway if instruction == "HEALTHCHECK")
    probe = _exec_form(health.split("CMD", 1)[1].strip())
    assert probe[0] == "/app/.venv/bin/python"
    assert copied[probe[1]] == "scripts/health-probe"
    addr = probe[probe.index("--addr") + 1]
    assert addr.rsplit(":", 1)[1] == "50051"


def test_mt5sim_stage_runs_its_console_script_as_non_root() -> None:
    mt5sim = dict(_stages()["mt5sim"])
    entrypoint = _exec_form(mt5sim["ENTRYPOINT"])
    assert entrypoint == ["mt5sim"]
    assert entrypoint[0] in _console_scripts(ROOT / "simulator" / "pyproject.toml")
    args = sim_parser().parse_args(_exec_form(mt5sim["CMD"]))
    assert (args.host, args.port) == ("0.0.0.0", 8443)  # noqa: S104
    assert mt5sim["USER"].split(":")[0] not in {"0", "root"}


# What only `serve --demo` needs; the production image must be without all of it.
DEMO_ONLY = {"mt5sim", "aiohttp", "cryptography"}


def _locked_closure(package: str, extras: tuple[str, ...] = ()) -> set[str]:
    """Every package ``package`` installs from uv.lock (markers ignored: a superset)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    by_name = {entry["name"]: entry for entry in lock["package"]}
    seen: set[str] = set()
    todo = [(package, extras)]
    while todo:
        name, wanted = todo.pop()
        entry = by_name[name]
        deps = list(entry.get("dependencies", []))
        for extra in wanted:
            deps += entry.get("optional-dependencies", {})[extra]
        seen.add(name)
        todo += [
            (dep["name"], tuple(dep.get("extra", ())))
            for dep in deps
            if dep["name"] not in seen
        ]
    return seen


def test_demo_is_an_extra_of_the_server_package() -> None:
    assert not DEMO_ONLY & _locked_closure("mt5gateway-server")
    assert "mt5sim" in _locked_closure("mt5gateway-server", ("demo",))
    project = tomllib.loads((ROOT / "server" / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["optional-dependencies"]["demo"] == ["mt5sim"]


def test_gateway_image_is_built_without_the_demo_extra() -> None:
    stages = _stages()
    syncs = [args for kind, args in stages["builder"] if "uv sync" in args]
    assert syncs
    for args in syncs:
        assert "--package mt5gateway-server" in args
        assert "--extra" not in args
        assert "--all-extras" not in args
    builder_copies = [args for kind, args in stages["builder"] if kind == "COPY"]
    assert not [args for args in builder_copies if "simulator/src" in args]
    gateway_venv = [args for kind, args in stages["gateway"] if kind == "COPY"]
    assert "--from=builder /app/.venv /app/.venv" in gateway_venv


def test_run_script_and_tests_get_the_demo() -> None:
    bootstrap = (ROOT / "scripts" / "lib" / "bootstrap.sh").read_text("utf-8")
    assert "sync --locked --all-packages --extra demo" in bootstrap
    run = (ROOT / "scripts" / "run").read_text("utf-8").strip().splitlines()[-1]
    command = shlex.split(run)
    serve = command[command.index("mt5gateway") + 1 : -1]  # "$@" last
    assert gateway_parser().parse_args(serve).demo


def test_runtime_stages_carry_no_build_tooling() -> None:
    stages = _stages()
    for name in ("runtime", "mt5sim", "gateway"):
        for instruction, args in stages[name]:
            assert "uv " not in args, f"{name}: {instruction} {args}"
            assert "apt-get" not in args, f"{name}: {instruction} {args}"


# ---------------------------------------------------------------- compose


def test_compose_services_and_paths() -> None:
    lines = _compose_lines()
    services = set(_mapping(_block(lines, "services")))
    assert {"gateway-1", "gateway-2", "redis", "mt5sim", "mt5sim-certs"} <= services
    text = "\n".join(lines)
    for context in re.findall(r"^\s+context:\s*(\S+)", text, re.MULTILINE):
        assert (DOCKER / context / "docker" / "Dockerfile").is_file()
    for dockerfile in re.findall(r"^\s+dockerfile:\s*(\S+)", text, re.MULTILINE):
        assert (ROOT / dockerfile).is_file()
    stages = set(_stages())
    for target in re.findall(r"^\s+target:\s*(\S+)", text, re.MULTILINE):
        assert target in stages
    for bind in re.findall(r"^\s+- (\./[^:\s]+):", text, re.MULTILINE):
        assert (DOCKER / bind).is_file(), bind


def test_compose_secrets_are_files_with_committed_examples_only() -> None:
    secrets = _block(_compose_lines(), "secrets")
    files = [line.split("file:", 1)[1].strip() for line in secrets if "file:" in line]
    assert files
    for file in files:
        assert file.startswith("./secrets/")
        assert (DOCKER / f"{file}.example").is_file(), f"no example for {file}"


def test_no_credentials_in_compose() -> None:
    env = _mapping(_block(_compose_lines(), "x-gateway", "environment"))
    for name, value in env.items():
        if re.search(r"PASSWORD|API_KEYS|SECRET|TOKEN", name):
            assert name.endswith("_FILE"), f"{name} must come from a secret file"
            assert value.startswith("/run/secrets/")
        assert not re.search(r"://[^/\s]*:[^/\s]*@", value), f"{name}: URL password"
    assert env["MT5GW_CONFIG_FILE"].startswith("/run/secrets/")
    # Verification towards MT5 is never switched off in the reference deployment.
    assert "TLS_VERIFY" not in "".join(env)


def test_published_ports_are_loopback_only() -> None:
    lines = _compose_lines()
    published = 0
    for service in _mapping(_block(lines, "services")):
        try:
            ports = _items(_block(lines, "services", service, "ports"))
        except AssertionError:
            continue  # not published
        for port in ports:
            published += 1
            assert port.startswith("127.0.0.1:"), f"{service}: {port}"
    assert published


def test_redis_persists_and_never_evicts() -> None:
    command = _items(_block(_compose_lines(), "services", "redis", "command"))
    flags = dict(zip(command[1::2], command[2::2], strict=False))
    assert command[0] == "redis-server"
    assert flags["--appendonly"] == "yes"
    assert flags["--appendfsync"] == "always"  # a lost write-ahead mark = a re-send
    assert flags["--maxmemory-policy"] == "noeviction"


def test_compose_environment_is_valid_gateway_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.upper().startswith("MT5GW_"):
            monkeypatch.delenv(name)
    env = _mapping(_block(_compose_lines(), "x-gateway", "environment"))
    for name, value in env.items():
        assert name.startswith("MT5GW_"), name
        monkeypatch.setenv(name, value)
    # The committed example stands in for the secret file.
    example = DOCKER / "secrets" / "gateway_config.toml.example"
    monkeypatch.setenv("MT5GW_CONFIG_FILE", str(example))
    settings = Settings.load(grpc={"listen": "0.0.0.0:50051"})  # the image's CMD
    assert settings.grpc.auth_enabled, "replicas reachable from outside need API keys"
    main = settings.mt5["main"]
    assert main.tls_verify
    assert main.ca_file is not None
    assert main.password_file is not None
    assert settings.redis.url is not None
    # Every name is a real setting: a typo is caught here, not in a running stack.
    for name in env:
        _assert_setting_exists(name)


def _assert_setting_exists(env_name: str) -> None:
    if env_name == "MT5GW_CONFIG_FILE":
        return
    parts = env_name.removeprefix("MT5GW_").lower().split("__")
    model: type[BaseModel] = Settings
    while parts:
        field = parts.pop(0)
        assert field in model.model_fields, env_name
        if field == "mt5":
            parts.pop(0)  # the server's name
            model = Mt5ServerSettings
        else:
            annotation = model.model_fields[field].annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
            else:
                assert not parts, env_name


def test_mt5sim_command_parses_and_matches_the_gateway_url() -> None:
    lines = _compose_lines()
    args = sim_parser().parse_args(
        _items(_block(lines, "services", "mt5sim", "command"))
    )
    url = _mapping(_block(lines, "x-gateway", "environment"))["MT5GW_MT5__MAIN__URL"]
    assert args.tls
    assert url == f"https://mt5sim:{args.port}"
    assert args.cert_file.startswith("/certs/")


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose not installed"
)
def test_docker_compose_validates_the_file() -> None:
    proc = subprocess.run(  # noqa: S603 - fixed arguments
        [shutil.which("docker-compose") or "", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- secrets, probe


def _git_files(under: str) -> list[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    proc = subprocess.run(  # noqa: S603 - fixed arguments
        [git, "-C", str(ROOT), "ls-files", "-s", "--", under],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc.stdout.splitlines() if proc.returncode == 0 else None


def test_only_secret_examples_are_committed() -> None:
    tracked = _git_files("docker/secrets")
    if tracked is None:
        pytest.skip("not a git checkout")
    names = {line.split("\t", 1)[1] for line in tracked}
    for name in names:
        assert name.endswith((".example", "/.gitignore")), f"committed secret: {name}"


def test_example_password_is_only_the_simulators_demo_password() -> None:
    example = DOCKER / "secrets" / "mt5_main_password.example"
    demo = SimConfig().managers[0]
    assert example.read_text(encoding="utf-8") == f"{demo.password}\n"


def test_example_api_key_is_a_placeholder() -> None:
    text = (DOCKER / "secrets" / "gateway_config.toml.example").read_text("utf-8")
    keys = tomllib.loads(text)["grpc"]["api_keys"]
    assert keys
    assert all(key.startswith("REPLACE") for key in keys)


def test_health_probe_is_an_executable_python_script() -> None:
    probe = ROOT / "scripts" / "health-probe"
    source = probe.read_text(encoding="utf-8")
    assert source.startswith("#!/usr/bin/env python3\n")
    compile(source, str(probe), "exec")
    tracked = _git_files("scripts/health-probe")
    if tracked:
        assert tracked[0].startswith("100755"), "scripts/health-probe: chmod +x"


# ---------------------------------------------------------------- docs


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names: list[str] = []
    for field, info in model.model_fields.items():
        name = f"{prefix}{field.upper()}"
        annotation = info.annotation
        if model is Settings and field == "mt5":
            names += _env_names(Mt5ServerSettings, f"{name}__<NAME>__")
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _env_names(annotation, f"{name}__")
        else:
            names.append(name)
    return names


def test_deployment_doc_lists_every_setting() -> None:
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    names = _env_names(Settings, "MT5GW_")
    assert "MT5GW_GRPC__LISTEN" in names
    missing = [name for name in names if f"`{name}`" not in doc]
    assert not missing, f"docs/deployment.md lacks {missing}"
