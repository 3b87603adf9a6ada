<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * A write reached MT5 but its result is unknown: reconcile before retrying.
 */
class OutcomeUnknownException extends DeadlineExceededException
{}
