<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

use Mt5Gateway\Client\FieldViolation;

/**
 * Base of every error decoded from a failed gateway call (see StatusDecoder).
 *
 * Branch on the class or on getReason() (the ErrorInfo reason, e.g. "MT5_NO_MONEY"),
 * never on the message text. getCode() is the gRPC status code (\Grpc\STATUS_*).
 */
class GatewayException extends \RuntimeException
{
    /**
     * @param array<string, string> $errorMetadata ErrorInfo metadata (lowerCamel keys)
     * @param list<FieldViolation> $fieldViolations BadRequest field violations
     */
    public function __construct(
        string $message,
        int $statusCode,
        private readonly string $reason = '',
        private readonly string $domain = '',
        private readonly array $errorMetadata = [],
        private readonly array $fieldViolations = [],
        private readonly ?float $retryDelay = null,
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, $statusCode, $previous);
    }

    /** gRPC status code, one of the \Grpc\STATUS_* constants (same as getCode()). */
    public function getStatusCode(): int
    {
        return $this->getCode();
    }

    /** ErrorInfo.reason ("" when the status carried none, e.g. a client deadline). */
    public function getReason(): string
    {
        return $this->reason;
    }

    public function getDomain(): string
    {
        return $this->domain;
    }

    /** @return array<string, string> */
    public function getErrorMetadata(): array
    {
        return $this->errorMetadata;
    }

    /** The MT5 retcode (e.g. 10019), when MT5 answered. */
    public function getRetcode(): ?int
    {
        $raw = $this->errorMetadata['retcode'] ?? null;
        return $raw !== null && ctype_digit($raw) ? (int) $raw : null;
    }

    /** The MT5 retcode name (e.g. "MT_RET_REQUEST_NO_MONEY"), when MT5 answered. */
    public function getRetcodeName(): ?string
    {
        return $this->errorMetadata['retcodeName'] ?? null;
    }

    /** @return list<FieldViolation> */
    public function getFieldViolations(): array
    {
        return $this->fieldViolations;
    }

    /** RetryInfo.retry_delay in seconds, when the gateway sent one. */
    public function getRetryDelay(): ?float
    {
        return $this->retryDelay;
    }

    /** Whether repeating the same call (same request_id for writes) is safe and useful. */
    public function isRetryable(): bool
    {
        return false;
    }
}
