<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Unit;

use Google\Protobuf\Duration;
use Google\Protobuf\Any;
use Google\Rpc\RetryInfo;
use Mt5Gateway\Client\Exception\InternalException;
use Mt5Gateway\Client\Exception\UnavailableException;
use Mt5Gateway\Client\QuoteStream;
use Mt5Gateway\V1\Heartbeat;
use Mt5Gateway\V1\Quote;
use Mt5Gateway\V1\StreamQuotesRequest;
use Mt5Gateway\V1\StreamQuotesResponse;
use PHPUnit\Framework\TestCase;

/** A scripted stand-in for \Grpc\ServerStreamingCall. */
final class FakeStreamCall
{
    public bool $cancelled = false;

    /** @param list<StreamQuotesResponse> $messages */
    public function __construct(private array $messages, private object $status)
    {
    }

    /** @return \Generator<int, StreamQuotesResponse> */
    public function responses(): \Generator
    {
        foreach ($this->messages as $message) {
            if ($this->cancelled) {
                return;
            }
            yield $message;
        }
    }

    public function getStatus(): object
    {
        return $this->cancelled ? (object) ['code' => 1, 'details' => 'Cancelled', 'metadata' => []] : $this->status;
    }

    public function cancel(): void
    {
        $this->cancelled = true;
    }
}

final class QuoteStreamTest extends TestCase
{
    /** @var list<float> */
    private array $slept = [];
    /** @var list<int> */
    private array $backoffs = [];

    /** @return list<StreamQuotesResponse> */
    private static function messages(int $count): array
    {
        $out = [];
        for ($n = 1; $n <= $count; $n++) {
            $out[] = $n === 1
                ? new StreamQuotesResponse(['heartbeat' => new Heartbeat(), 'sequence' => $n])
                : new StreamQuotesResponse(['quote' => new Quote(['symbol' => 'EURUSD']), 'sequence' => $n]);
        }
        return $out;
    }

    private static function unavailable(?float $retrySeconds = null, string $reason = 'MT5_UNAVAILABLE'): object
    {
        $extra = [];
        if ($retrySeconds !== null) {
            $retry = new RetryInfo(['retry_delay' => new Duration(['seconds' => (int) $retrySeconds])]);
            $extra[] = new Any(['type_url' => 'type.googleapis.com/google.rpc.RetryInfo', 'value' => $retry->serializeToString()]);
        }
        return StatusDecoderTest::grpcStatus(14, $reason, [], $extra);
    }

    /** @param list<FakeStreamCall> $calls */
    private function stream(array $calls, ?int $maxReopens = null, bool $heartbeats = false): QuoteStream
    {
        return new QuoteStream(
            static function (StreamQuotesRequest $r) use (&$calls): FakeStreamCall {
                return array_shift($calls) ?? throw new \LogicException('no more scripted calls');
            },
            new StreamQuotesRequest(['symbols' => ['EURUSD']]),
            $maxReopens,
            $heartbeats,
            function (float $s): void {
                $this->slept[] = $s;
            },
            function (int $failures): float {
                $this->backoffs[] = $failures;
                return 0.25;
            },
        );
    }

    /** @return list<int> */
    private static function sequences(iterable $stream): array
    {
        $out = [];
        foreach ($stream as $m) {
            $out[] = (int) $m->getSequence();
        }
        return $out;
    }

    public function testReopensOnUnavailable(): void
    {
        $ok = (object) ['code' => 0, 'details' => '', 'metadata' => []];
        $stream = $this->stream([
            new FakeStreamCall(self::messages(3), self::unavailable(2.0, 'GATEWAY_DRAINING')),
            new FakeStreamCall([], self::unavailable()),
            new FakeStreamCall(self::messages(3), $ok),
        ]);
        self::assertSame([2, 3, 2, 3], self::sequences($stream));
        self::assertSame(2, $stream->reopens());
        // RetryInfo (2 s) for the first, our backoff for the second (failure count 1:
        // no message arrived in between).
        self::assertSame([2.0, 0.25], $this->slept);
        self::assertSame([1], $this->backoffs);
    }

    public function testGivesUpAfterMaxReopens(): void
    {
        $stream = $this->stream([
            new FakeStreamCall(self::messages(2), self::unavailable(0.0)),
            new FakeStreamCall(self::messages(2), self::unavailable(0.0)),
        ], maxReopens: 1, heartbeats: true);
        $seen = [];
        try {
            foreach ($stream as $m) {
                $seen[] = (int) $m->getSequence();
            }
            self::fail('expected UnavailableException');
        } catch (UnavailableException $e) {
            self::assertSame('MT5_UNAVAILABLE', $e->getReason());
        }
        self::assertSame([1, 2, 1, 2], $seen);
        self::assertSame(1, $stream->reopens());
    }

    public function testReopensOnAnyErrorTheServerMarksRetryable(): void
    {
        $ok = (object) ['code' => 0, 'details' => '', 'metadata' => []];
        $retry = new RetryInfo(['retry_delay' => new Duration(['seconds' => 1])]);
        $extra = [new Any(['type_url' => 'type.googleapis.com/google.rpc.RetryInfo', 'value' => $retry->serializeToString()])];
        $stream = $this->stream([
            new FakeStreamCall([], StatusDecoderTest::grpcStatus(8, 'MT5_RATE_LIMITED', [], $extra)),
            new FakeStreamCall(self::messages(2), $ok),
        ]);
        self::assertSame([2], self::sequences($stream));
        self::assertSame(1, $stream->reopens());
        self::assertSame([1.0], $this->slept);
    }

    public function testOtherErrorsAreThrownAtOnce(): void
    {
        $stream = $this->stream([new FakeStreamCall([], StatusDecoderTest::grpcStatus(13, 'INTERNAL_ERROR'))]);
        $this->expectException(InternalException::class);
        iterator_to_array($stream);
    }

    public function testCancelEndsTheIteration(): void
    {
        $stream = $this->stream([new FakeStreamCall(self::messages(10), (object) ['code' => 0, 'details' => '', 'metadata' => []])]);
        $seen = 0;
        foreach ($stream as $m) {
            if (++$seen === 2) {
                $stream->cancel();
            }
        }
        self::assertSame(2, $seen);
        self::assertSame(0, $stream->reopens());
    }

    public function testBackoffIsBounded(): void
    {
        for ($i = 0; $i < 100; $i++) {
            $d = QuoteStream::exponentialBackoff($i % 40);
            self::assertGreaterThanOrEqual(0.0, $d);
            self::assertLessThanOrEqual(10.0, $d);
        }
    }
}
