<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * No pooled MT5 session became free in time; nothing was sent.
 */
class PoolExhaustedException extends UnavailableException
{
    public function isRetryable(): bool
    {
        return true;
    }
}
