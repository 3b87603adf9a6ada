"""MT5 return codes as the simulator sends them: ``"<number> <text>"``.

Texts follow docs/mt5-webapi.md#retcodes. Only a few are attested on live servers
(0, 1, 3, 8, 13, 14, 3006, 10013, 10019); the rest use the documented descriptions.
"""

from __future__ import annotations

from enum import IntEnum


class Retcode(IntEnum):
    OK = 0
    OK_NONE = 1
    ERROR = 2
    ERR_PARAMS = 3
    ERR_DATA = 4
    ERR_PERMISSIONS = 8
    ERR_TIMEOUT = 9
    ERR_CONNECTION = 10
    ERR_NOSERVICE = 11
    ERR_FREQUENT = 12
    ERR_NOTFOUND = 13
    ERR_PARTIAL = 14
    ERR_SHUTDOWN = 15
    ERR_DUPLICATE = 17
    AUTH_CLIENT_INVALID = 1000
    AUTH_ACCOUNT_INVALID = 1001
    AUTH_CLIENT_OLD = 1010
    AUTH_SERVER_BUSY = 1018
    USR_LOGIN_EXHAUSTED = 3002
    USR_LOGIN_EXIST = 3004
    USR_SUICIDE = 3005
    USR_INVALID_PASSWORD = 3006
    USR_HAS_TRADES = 3008
    TRADE_MAX_MONEY = 4005
    REQUEST_INVALID = 10013
    REQUEST_NO_MONEY = 10019
    REQUEST_TOO_MANY = 10024
    ERR_NOTSUPPORTED = 12002


RETCODE_TEXT: dict[int, str] = {
    0: "Done",
    1: "OK/None",
    2: "Common error",
    3: "Invalid parameters",
    4: "Invalid data",
    5: "Disk error",
    6: "Memory error",
    7: "Network error",
    8: "Not enough permissions",
    9: "Operation timeout",
    10: "No connection",
    11: "Service is not available",
    12: "Too frequent requests",
    13: "Not found",
    14: "Operation has not been completed",
    15: "Server shutdown in progress",
    16: "Operation has been canceled",
    17: "Duplicate data",
    1000: "Invalid terminal type",
    1001: "Invalid account",
    1002: "Account disabled",
    1003: "Advanced authorization necessary",
    1004: "Certificate required",
    1005: "Invalid certificate",
    1006: "Certificate is not confirmed",
    1007: "Attempt to connect to non-access server",
    1008: "Server isn't authenticated",
    1009: "Only updates available",
    1010: "Client has old version",
    1011: "Manager account doesn't have manager config",
    1012: "IP address unallowed for manager",
    1013: "Group is not initialized (server restart necessary)",
    1014: "Certificate generation disabled",
    1015: "Invalid or disabled server id",
    1016: "Unallowed address",
    1017: "Invalid server type",
    1018: "Server is busy",
    1019: "Invalid server certificate",
    1020: "Unknown account",
    1021: "Old server version",
    1022: "Server cannot be connected due to license limitation",
    1023: "Mobile connections not allowed in license",
    1024: "Connection type is not permitted for manager",
    1025: "Demo allocation disabled",
    1026: "Master password must be changed",
    1027: "Invalid one-time password",
    1028: "OTP secret key required",
    1029: "Password change required after MT4 import",
    1030: "Password change required after MT5 import",
    1031: "Invalid or expired verification code",
    1032: "Email verification code could not be sent",
    1033: "Phone verification code could not be sent",
    1034: "API connection prohibited for the account",
    3001: "Last admin account deleting",
    3002: "Logins range exhausted",
    3003: "Login reserved at another server",
    3004: "Account already exists",
    3005: "Attempt of self-deletion",
    3006: "Invalid account password",
    3007: "Users limit reached",
    3008: "Account has open trades",
    4005: "Money limit reached",
    10006: "Request rejected",
    10012: "Request timeout",
    10013: "Invalid request",
    10014: "Invalid volume",
    10015: "Invalid price",
    10017: "Trade disabled",
    10018: "Market closed",
    10019: "No money",
    10024: "Too many trade requests",
    12000: "Not implemented yet",
    12002: "Command doesn't supported",
}


def retcode_string(code: int) -> str:
    """The wire form ``"<number> <text>"`` (unknown codes get a generic text)."""
    return f"{code} {RETCODE_TEXT.get(code, 'Unknown error')}"


class Mt5Error(Exception):
    """Raised by command handlers; the transport turns it into ``{"retcode": ...}``."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(f"{retcode_string(code)}{': ' + detail if detail else ''}")
        self.code = code
        self.detail = detail
