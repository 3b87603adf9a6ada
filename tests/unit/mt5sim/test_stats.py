from mt5sim.stats import Stats


def test_to_json_and_reset() -> None:
    s = Stats()
    s.handshakes_started = 2
    s.handshakes_completed = 1
    s.handshakes_failed = 1
    s.requests["user/get"] += 3
    s.requests["auth/start"] += 2
    s.faults_injected["error"] += 1
    data = s.to_json()
    assert data["handshakes"] == {"started": 2, "completed": 1, "failed": 1}
    assert data["requests"] == {"auth/start": 2, "user/get": 3}
    assert list(data["requests"]) == ["auth/start", "user/get"]
    assert data["requests_total"] == 5
    assert data["faults_injected"] == {"error": 1}
    s.reset()
    assert s.to_json()["requests"] == {}
    assert s.handshakes_started == 0
