<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * ABORTED: a concurrency conflict; retry the whole operation.
 */
class AbortedException extends GatewayException
{}
