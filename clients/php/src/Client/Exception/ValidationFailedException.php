<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The gateway's own validation failed; see getFieldViolations().
 */
class ValidationFailedException extends InvalidArgumentException
{}
