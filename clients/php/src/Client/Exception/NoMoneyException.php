<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * Not enough money (retcode 10019).
 */
class NoMoneyException extends RejectedException
{}
