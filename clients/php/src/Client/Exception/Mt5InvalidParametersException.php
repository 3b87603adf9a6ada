<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * MT5 rejected the parameters (retcodes 3, 4, 10013-10016).
 */
class Mt5InvalidParametersException extends InvalidArgumentException
{}
