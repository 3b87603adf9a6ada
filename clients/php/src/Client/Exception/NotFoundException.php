<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The MT5 record does not exist (retcode 13); getErrorMetadata() names the key.
 */
class NotFoundException extends GatewayException
{}
