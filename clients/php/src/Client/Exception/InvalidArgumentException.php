<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * INVALID_ARGUMENT: the request is wrong; do not retry it unchanged.
 */
class InvalidArgumentException extends GatewayException
{}
