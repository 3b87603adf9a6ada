<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The gateway's state store (Redis) did not answer. A money write may or may not have
 * been applied: repeat it with the same request_id to learn its outcome (never twice).
 */
class StateStoreUnavailableException extends UnavailableException
{
    public function isRetryable(): bool
    {
        return true;
    }
}
