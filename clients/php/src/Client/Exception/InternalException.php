<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * Something unexpected inside the gateway; see its log under the request id.
 */
class InternalException extends GatewayException
{}
