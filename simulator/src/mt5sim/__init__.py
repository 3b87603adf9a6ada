"""mt5sim: a protocol-faithful MT5 manager Web API simulator."""

from mt5sim.config import ManagerSpec, SimConfig
from mt5sim.server import Simulator

__all__ = ["ManagerSpec", "SimConfig", "Simulator"]
