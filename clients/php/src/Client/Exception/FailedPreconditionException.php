<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * FAILED_PRECONDITION: the system is not in a state for this operation.
 */
class FailedPreconditionException extends GatewayException
{}
