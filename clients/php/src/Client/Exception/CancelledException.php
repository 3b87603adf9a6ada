<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The call was cancelled.
 */
class CancelledException extends GatewayException
{}
