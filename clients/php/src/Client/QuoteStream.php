<?php

declare(strict_types=1);

namespace Mt5Gateway\Client;

use Mt5Gateway\Client\Exception\UnavailableException;
use Mt5Gateway\V1\StreamQuotesRequest;
use Mt5Gateway\V1\StreamQuotesResponse;

/**
 * Iterates StreamQuotes, re-opening the stream when it ends with UNAVAILABLE (the
 * gateway drains, restarts or loses MT5; the network drops) or with any error the
 * gateway marks retryable by a RetryInfo (e.g. RESOURCE_EXHAUSTED when MT5 answered
 * "too frequent" to the snapshot fetch), as the Python client does. The delay is the
 * server's RetryInfo, else full-jitter exponential backoff. Any other error is thrown
 * as a typed GatewayException; a stream the server ends with OK ends the iteration.
 *
 * After a re-open, `sequence` starts at 1 again and the current quotes come first as a
 * snapshot, so a consumer keeping the latest quote per symbol loses nothing.
 *
 * @implements \IteratorAggregate<int, StreamQuotesResponse>
 */
final class QuoteStream implements \IteratorAggregate
{
    /** @var \Closure(StreamQuotesRequest): object */
    private \Closure $open;
    /** @var \Closure(float): void */
    private \Closure $sleep;
    /** @var \Closure(int): float */
    private \Closure $backoff;
    private int $reopens = 0;
    private bool $cancelled = false;
    private ?object $call = null;

    /**
     * @param callable(StreamQuotesRequest): object $open returns a \Grpc\ServerStreamingCall
     * @param (callable(float): void)|null $sleep seconds
     * @param (callable(int): float)|null $backoff consecutive failures → seconds
     */
    public function __construct(
        callable $open,
        private readonly StreamQuotesRequest $request,
        private readonly ?int $maxReopens = null,
        private readonly bool $heartbeats = false,
        ?callable $sleep = null,
        ?callable $backoff = null,
    ) {
        $this->open = \Closure::fromCallable($open);
        $this->sleep = \Closure::fromCallable($sleep ?? static function (float $seconds): void {
            usleep((int) round($seconds * 1e6));
        });
        $this->backoff = \Closure::fromCallable($backoff ?? [self::class, 'exponentialBackoff']);
    }

    public static function exponentialBackoff(int $failures, float $base = 0.2, float $cap = 10.0): float
    {
        $ceiling = min($cap, $base * (2 ** min($failures, 32)));
        return $ceiling * mt_rand() / mt_getrandmax();
    }

    public function reopens(): int
    {
        return $this->reopens;
    }

    /** Ends the iteration (from a signal handler, e.g. on SIGTERM in a worker). */
    public function cancel(): void
    {
        $this->cancelled = true;
        if ($this->call !== null && method_exists($this->call, 'cancel')) {
            $this->call->cancel();
        }
    }

    /** @return \Generator<int, StreamQuotesResponse> */
    public function getIterator(): \Generator
    {
        $failures = 0;
        while (!$this->cancelled) {
            $this->call = ($this->open)($this->request);
            foreach ($this->call->responses() as $message) {
                /** @var StreamQuotesResponse $message */
                $failures = 0; // the stream worked: start the backoff over
                if ($this->heartbeats || $message->getEvent() !== 'heartbeat') {
                    yield $message;
                }
                if ($this->cancelled) {
                    $this->call->cancel();
                    return;
                }
            }
            $status = $this->call->getStatus();
            $this->call = null;
            if ((int) $status->code === 0 || $this->cancelled || (int) $status->code === 1 /* CANCELLED */) {
                return;
            }
            $error = StatusDecoder::decode($status);
            $retryable = $error instanceof UnavailableException || $error->getRetryDelay() !== null;
            if (!$retryable || ($this->maxReopens !== null && $this->reopens >= $this->maxReopens)) {
                throw $error;
            }
            $delay = $error->getRetryDelay() ?? ($this->backoff)($failures);
            $failures++;
            $this->reopens++;
            ($this->sleep)($delay);
        }
    }
}
