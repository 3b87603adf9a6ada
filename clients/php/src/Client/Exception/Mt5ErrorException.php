<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * MT5 answered with a retcode the gateway does not classify.
 */
class Mt5ErrorException extends GatewayException
{}
