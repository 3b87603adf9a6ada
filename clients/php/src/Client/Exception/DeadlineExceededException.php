<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The call's deadline ran out; for a write the outcome is unknown.
 */
class DeadlineExceededException extends GatewayException
{}
