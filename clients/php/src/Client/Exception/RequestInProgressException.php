<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * Another call with this request_id is still running: repeat it later.
 */
class RequestInProgressException extends AbortedException
{
    public function isRetryable(): bool
    {
        return true;
    }
}
