<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The request_id was already used with another payload: use a new one.
 */
class IdempotencyConflictException extends InvalidArgumentException
{}
