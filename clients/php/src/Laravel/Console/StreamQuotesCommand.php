<?php

declare(strict_types=1);

namespace Mt5Gateway\Laravel\Console;

use Illuminate\Console\Command;
use Mt5Gateway\Client\Exception\GatewayException;
use Mt5Gateway\Client\Gateway;
use Mt5Gateway\Client\Money;
use Mt5Gateway\V1\StreamQuotesRequest;

/**
 * Example consumer of StreamQuotes, meant for a long-running worker (supervisor,
 * `php artisan mt5gateway:stream-quotes EURUSD GBPUSD`), never a web request: the
 * stream read blocks. Replace the line output with your own handling (cache the latest
 * quote, dispatch a job, broadcast an event).
 */
final class StreamQuotesCommand extends Command
{
    /** @var string */
    protected $signature = 'mt5gateway:stream-quotes
        {symbols* : Symbols to stream, e.g. EURUSD GBPUSD}
        {--group= : Apply this group\'s spreads}
        {--max=0 : Stop after this many quotes (0 = run until stopped)}';

    /** @var string */
    protected $description = 'Stream live quotes from mt5-gateway (re-opens on UNAVAILABLE)';

    public function handle(Gateway $gateway): int
    {
        $request = new StreamQuotesRequest([
            'server' => (string) config('mt5gateway.server', ''),
            'symbols' => (array) $this->argument('symbols'),
            'group' => (string) ($this->option('group') ?? ''),
        ]);
        $max = (int) $this->option('max');
        $stream = $gateway->streamQuotes($request);
        // Let SIGTERM (supervisor) and SIGINT end the stream cleanly, and put the previous
        // handlers back afterwards: the command may run inside a longer-lived process
        // (Artisan::call from a queue worker, whose own SIGTERM handler must survive it).
        // Later 9.x releases (laravel/framework#43933), 10 and 11 offer
        // $this->trap([SIGTERM, SIGINT], ...) with the same effect (untrapped after the
        // command); Laravel 8 has no trap(), hence pcntl directly. (Symfony Console >= 5.2
        // already switches pcntl_async_signals on when it starts.)
        $restore = $this->trapSignals(static fn () => $stream->cancel());
        $count = 0;
        try {
            foreach ($stream as $message) {
                $quote = $message->getQuote();
                if ($quote === null) {
                    continue; // snapshot_complete marker
                }
                $this->line(sprintf(
                    '%d %s bid=%s ask=%s',
                    $message->getSequence(),
                    $quote->getSymbol(),
                    Money::fromDecimal($quote->getBid()),
                    Money::fromDecimal($quote->getAsk()),
                ));
                if ($max > 0 && ++$count >= $max) {
                    $stream->cancel();
                    break;
                }
            }
        } catch (GatewayException $e) {
            $this->error(sprintf('%s (%s): %s', get_class($e), $e->getReason(), $e->getMessage()));
            return self::FAILURE;
        } finally {
            $restore();
        }
        return self::SUCCESS;
    }

    /**
     * @param \Closure(): void $onSignal
     * @return \Closure(): void puts the previous SIGTERM/SIGINT handlers back
     */
    private function trapSignals(\Closure $onSignal): \Closure
    {
        if (!function_exists('pcntl_signal')) {
            return static function (): void {
            };
        }
        $async = pcntl_async_signals(true);
        $previous = [];
        foreach ([SIGTERM, SIGINT] as $signal) {
            $previous[$signal] = pcntl_signal_get_handler($signal);
            pcntl_signal($signal, static function () use ($onSignal): void {
                $onSignal();
            });
        }
        return static function () use ($async, $previous): void {
            foreach ($previous as $signal => $handler) {
                pcntl_signal($signal, $handler);
            }
            pcntl_async_signals($async);
        };
    }
}
