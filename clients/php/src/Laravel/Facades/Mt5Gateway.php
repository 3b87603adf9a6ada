<?php

declare(strict_types=1);

namespace Mt5Gateway\Laravel\Facades;

use Illuminate\Support\Facades\Facade;

/**
 * `Mt5Gateway::users()->GetUser(new GetUserRequest(['login' => 1001]))`.
 *
 * @method static \Mt5Gateway\Client\Service users()
 * @method static \Mt5Gateway\Client\Service trades()
 * @method static \Mt5Gateway\Client\Service config()
 * @method static \Mt5Gateway\Client\Service quotes()
 * @method static \Mt5Gateway\Client\Service servers()
 * @method static \Mt5Gateway\Client\QuoteStream streamQuotes(\Mt5Gateway\V1\StreamQuotesRequest $request, ?int $maxReopens = null, bool $heartbeats = false, array $metadata = [], ?int $deadlineMs = null)
 * @method static \Mt5Gateway\Client\ClientFactory factory()
 *
 * @see \Mt5Gateway\Client\Gateway
 */
final class Mt5Gateway extends Facade
{
    protected static function getFacadeAccessor(): string
    {
        return 'mt5gateway';
    }
}
