<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The page token is malformed, expired or was issued for other filters.
 */
class InvalidPageTokenException extends InvalidArgumentException
{}
