<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The gateway is shutting down; retry or reopen, another replica will serve.
 */
class GatewayDrainingException extends UnavailableException
{
    public function isRetryable(): bool
    {
        return true;
    }
}
