<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * A business rule refused the operation (market closed, open trades, ...).
 */
class RejectedException extends FailedPreconditionException
{}
