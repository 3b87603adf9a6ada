<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * MT5 or the gateway is unreachable. For a write, MT5 never received it: retry.
 */
class UnavailableException extends GatewayException
{
    public function isRetryable(): bool
    {
        return true;
    }
}
