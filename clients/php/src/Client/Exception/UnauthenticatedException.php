<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The API key is missing or wrong.
 */
class UnauthenticatedException extends GatewayException
{}
