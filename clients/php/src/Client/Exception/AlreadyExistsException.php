<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The record already exists (retcodes 17, 3004, 4002).
 */
class AlreadyExistsException extends GatewayException
{}
