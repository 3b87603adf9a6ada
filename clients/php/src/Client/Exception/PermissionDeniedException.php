<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The gateway's MT5 manager account lacks the right (retcode 8).
 */
class PermissionDeniedException extends GatewayException
{}
