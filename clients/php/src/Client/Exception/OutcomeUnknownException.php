<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * A write reached MT5 but its result is unknown. Repeat it with the SAME request_id (the
 * same request object), after getRetryDelay() when given: the gateway looks the write up
 * and writes again only if it is absent and can no longer land. Never use a new
 * request_id for it: that is a new operation and can apply the money twice.
 */
class OutcomeUnknownException extends DeadlineExceededException
{}
