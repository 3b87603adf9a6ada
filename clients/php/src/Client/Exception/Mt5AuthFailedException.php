<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The gateway cannot log in to MT5; an operator must fix its configuration.
 */
class Mt5AuthFailedException extends UnavailableException
{
    public function isRetryable(): bool
    {
        return true;
    }
}
