from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    VALIDATION_FAILED: _ClassVar[ErrorReason]
    MT5_INVALID_PARAMETERS: _ClassVar[ErrorReason]
    CALLER_UNAUTHENTICATED: _ClassVar[ErrorReason]
    MT5_PERMISSION_DENIED: _ClassVar[ErrorReason]
    MT5_NOT_FOUND: _ClassVar[ErrorReason]
    MT5_DUPLICATE: _ClassVar[ErrorReason]
    MT5_REJECTED: _ClassVar[ErrorReason]
    MT5_NO_MONEY: _ClassVar[ErrorReason]
    MT5_RATE_LIMITED: _ClassVar[ErrorReason]
    MT5_UNAVAILABLE: _ClassVar[ErrorReason]
    POOL_EXHAUSTED: _ClassVar[ErrorReason]
    MT5_OUTCOME_UNKNOWN: _ClassVar[ErrorReason]
    IDEMPOTENCY_CONFLICT: _ClassVar[ErrorReason]
    SERVER_NOT_FOUND: _ClassVar[ErrorReason]
    INVALID_PAGE_TOKEN: _ClassVar[ErrorReason]
    MT5_ERROR: _ClassVar[ErrorReason]
    INTERNAL_ERROR: _ClassVar[ErrorReason]
    MT5_AUTH_FAILED: _ClassVar[ErrorReason]
    GATEWAY_DRAINING: _ClassVar[ErrorReason]
    REQUEST_IN_PROGRESS: _ClassVar[ErrorReason]
    STATE_STORE_UNAVAILABLE: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
VALIDATION_FAILED: ErrorReason
MT5_INVALID_PARAMETERS: ErrorReason
CALLER_UNAUTHENTICATED: ErrorReason
MT5_PERMISSION_DENIED: ErrorReason
MT5_NOT_FOUND: ErrorReason
MT5_DUPLICATE: ErrorReason
MT5_REJECTED: ErrorReason
MT5_NO_MONEY: ErrorReason
MT5_RATE_LIMITED: ErrorReason
MT5_UNAVAILABLE: ErrorReason
POOL_EXHAUSTED: ErrorReason
MT5_OUTCOME_UNKNOWN: ErrorReason
IDEMPOTENCY_CONFLICT: ErrorReason
SERVER_NOT_FOUND: ErrorReason
INVALID_PAGE_TOKEN: ErrorReason
MT5_ERROR: ErrorReason
INTERNAL_ERROR: ErrorReason
MT5_AUTH_FAILED: ErrorReason
GATEWAY_DRAINING: ErrorReason
REQUEST_IN_PROGRESS: ErrorReason
STATE_STORE_UNAVAILABLE: ErrorReason
