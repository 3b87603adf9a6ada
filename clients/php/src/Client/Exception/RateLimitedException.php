<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * MT5 said too frequent / busy (retcodes 12, 1018, 10024); see getRetryDelay().
 */
class RateLimitedException extends GatewayException
{
    public function isRetryable(): bool
    {
        return true;
    }
}
