<?php

declare(strict_types=1);

namespace Mt5Gateway\Client\Exception;

/**
 * The `server` field names no configured MT5 server.
 */
class ServerNotFoundException extends NotFoundException
{}
