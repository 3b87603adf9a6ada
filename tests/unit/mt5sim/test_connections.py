from mt5sim.commands.base import Manager
from mt5sim.connections import ConnectionRegistry


class FakeProtocol:
    def __init__(self) -> None:
        self.closed = False

    def force_close(self) -> None:
        self.closed = True


def test_lifecycle() -> None:
    reg = ConnectionRegistry()
    p1, p2 = FakeProtocol(), FakeProtocol()
    c1 = reg.opened(p1)  # type: ignore[arg-type]
    c2 = reg.opened(p2)  # type: ignore[arg-type]
    assert len(reg) == 2
    assert reg.opened_total == 2
    assert reg.get(p1) is c1  # type: ignore[arg-type]
    assert not c1.authenticated
    c1.manager = Manager(1000)
    c2.manager = Manager(1000)
    assert reg.sessions_of(1000) == 2
    assert reg.authenticated() == [c1, c2]
    assert "login=1000" in repr(c1)
    reg.closed(p1)  # type: ignore[arg-type]
    assert len(reg) == 1
    assert c1.manager is None
    assert reg.sessions_of(1000) == 1
    c2.close()
    assert p2.closed
    reg.closed(p1)  # type: ignore[arg-type] # twice is harmless


def test_get_after_close_is_not_registered() -> None:
    reg = ConnectionRegistry()
    p = FakeProtocol()
    reg.opened(p)  # type: ignore[arg-type]
    reg.closed(p)  # type: ignore[arg-type]
    conn = reg.get(p)  # type: ignore[arg-type]
    assert not conn.authenticated
    assert len(reg) == 0
