<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The gateway does not implement this RPC (yet).
 */
class UnimplementedException extends GatewayException
{}
