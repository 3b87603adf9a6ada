<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Unit;

use Google\Protobuf\Any;
use Google\Protobuf\Duration;
use Google\Protobuf\Internal\Message;
use Google\Rpc\BadRequest;
use Google\Rpc\BadRequest\FieldViolation as PbFieldViolation;
use Google\Rpc\ErrorInfo;
use Google\Rpc\RetryInfo;
use Google\Rpc\Status;
use Mt5Gateway\Client\Exception;
use Mt5Gateway\Client\FieldViolation;
use Mt5Gateway\Client\StatusDecoder;
use PHPUnit\Framework\TestCase;

final class StatusDecoderTest extends TestCase
{
    private static function packAny(Message $message, string $name): Any
    {
        return new Any(['type_url' => 'type.googleapis.com/' . $name, 'value' => $message->serializeToString()]);
    }

    /**
     * The stdClass ext-grpc hands back from ->wait() / ->getStatus().
     *
     * @param array<string, string> $metadata
     * @param list<Any> $extra
     */
    public static function grpcStatus(int $code, string $reason, array $metadata = [], array $extra = [], string $domain = 'mt5gateway'): object
    {
        $info = new ErrorInfo(['domain' => $domain, 'reason' => $reason, 'metadata' => $metadata]);
        $status = new Status([
            'code' => $code,
            'message' => strtolower($reason),
            'details' => [self::packAny($info, 'google.rpc.ErrorInfo'), ...$extra],
        ]);
        return (object) [
            'code' => $code,
            'details' => strtolower($reason),
            'metadata' => [
                'other' => ['x'],
                StatusDecoder::DETAILS_KEY => [$status->serializeToString()],
            ],
        ];
    }

    public function testValidationFailedWithFieldViolations(): void
    {
        $bad = new BadRequest(['field_violations' => [
            new PbFieldViolation(['field' => 'amount.units', 'description' => 'must not be zero']),
        ]]);
        $e = StatusDecoder::decode(self::grpcStatus(3, 'VALIDATION_FAILED', [], [self::packAny($bad, 'google.rpc.BadRequest')]));
        self::assertInstanceOf(Exception\ValidationFailedException::class, $e);
        self::assertInstanceOf(Exception\InvalidArgumentException::class, $e);
        self::assertEquals([new FieldViolation('amount.units', 'must not be zero')], $e->getFieldViolations());
        self::assertSame(3, $e->getStatusCode());
        self::assertSame('validation_failed', $e->getMessage());
        self::assertFalse($e->isRetryable());
    }

    public function testNoMoneyWithRetcode(): void
    {
        $e = StatusDecoder::decode(self::grpcStatus(9, 'MT5_NO_MONEY', ['retcode' => '10019', 'retcodeName' => 'MT_RET_REQUEST_NO_MONEY']));
        self::assertInstanceOf(Exception\NoMoneyException::class, $e);
        self::assertInstanceOf(Exception\RejectedException::class, $e);
        self::assertSame(10019, $e->getRetcode());
        self::assertSame('MT_RET_REQUEST_NO_MONEY', $e->getRetcodeName());
        self::assertSame('mt5gateway', $e->getDomain());
    }

    public function testRetryInfo(): void
    {
        $retry = new RetryInfo(['retry_delay' => new Duration(['seconds' => 1, 'nanos' => 500_000_000])]);
        $e = StatusDecoder::decode(self::grpcStatus(14, 'POOL_EXHAUSTED', [], [self::packAny($retry, 'google.rpc.RetryInfo')]));
        self::assertInstanceOf(Exception\PoolExhaustedException::class, $e);
        self::assertInstanceOf(Exception\UnavailableException::class, $e);
        self::assertTrue($e->isRetryable());
        self::assertEqualsWithDelta(1.5, $e->getRetryDelay(), 1e-9);
    }

    /** @return iterable<array{int, string, class-string}> */
    public static function reasons(): iterable
    {
        yield [5, 'MT5_NOT_FOUND', Exception\NotFoundException::class];
        yield [5, 'SERVER_NOT_FOUND', Exception\ServerNotFoundException::class];
        yield [7, 'MT5_PERMISSION_DENIED', Exception\PermissionDeniedException::class];
        yield [8, 'MT5_RATE_LIMITED', Exception\RateLimitedException::class];
        yield [4, 'MT5_OUTCOME_UNKNOWN', Exception\OutcomeUnknownException::class];
        yield [3, 'IDEMPOTENCY_CONFLICT', Exception\IdempotencyConflictException::class];
        yield [10, 'REQUEST_IN_PROGRESS', Exception\RequestInProgressException::class];
        yield [14, 'GATEWAY_DRAINING', Exception\GatewayDrainingException::class];
        yield [14, 'STATE_STORE_UNAVAILABLE', Exception\StateStoreUnavailableException::class];
        yield [6, 'MT5_DUPLICATE', Exception\AlreadyExistsException::class];
        yield [16, 'CALLER_UNAUTHENTICATED', Exception\UnauthenticatedException::class];
        yield [13, 'INTERNAL_ERROR', Exception\InternalException::class];
        // Unknown reasons fall back to the class of the code.
        yield [5, 'SOMETHING_NEW', Exception\NotFoundException::class];
        yield [15, 'SOMETHING_NEW', Exception\GatewayException::class];
        // A reason contradicting the code does not change the kind of error.
        yield [12, 'INTERNAL_ERROR', Exception\UnimplementedException::class];
        yield [5, 'MT5_NO_MONEY', Exception\NotFoundException::class];
    }

    /**
     * @dataProvider reasons
     * @param class-string $class
     */
    public function testReasonToClass(int $code, string $reason, string $class): void
    {
        $e = StatusDecoder::decode(self::grpcStatus($code, $reason));
        self::assertSame($class, get_class($e));
        self::assertSame($reason, $e->getReason());
    }

    public function testEveryErrorReasonHasAClass(): void
    {
        $reflection = new \ReflectionClass(\Mt5Gateway\V1\ErrorReason::class);
        foreach ($reflection->getConstants() as $name => $value) {
            if ($name === 'ERROR_REASON_UNSPECIFIED') {
                continue;
            }
            // Any code: with UNKNOWN (2) only MT5_ERROR keeps its class, so check the map.
            $e = StatusDecoder::fromRpcStatus(new Status(['code' => 2]), 2);
            self::assertInstanceOf(Exception\GatewayException::class, $e);
            self::assertArrayHasKey($name, (new \ReflectionClassConstant(StatusDecoder::class, 'BY_REASON'))->getValue(), $name);
        }
    }

    public function testForeignDomainIsDecodedByCode(): void
    {
        $e = StatusDecoder::decode(self::grpcStatus(5, 'MT5_NO_MONEY', [], [], 'other.example'));
        self::assertSame(Exception\NotFoundException::class, get_class($e));
    }

    public function testPlainStatusWithoutDetails(): void
    {
        $e = StatusDecoder::decode((object) ['code' => 4, 'details' => 'Deadline Exceeded', 'metadata' => []]);
        self::assertSame(Exception\DeadlineExceededException::class, get_class($e));
        self::assertSame('', $e->getReason());
        self::assertNull($e->getRetcode());
        self::assertNull($e->getRetryDelay());
    }

    public function testCorruptDetailsFallBackToCode(): void
    {
        $e = StatusDecoder::decode((object) ['code' => 14, 'details' => 'x', 'metadata' => [StatusDecoder::DETAILS_KEY => ["\xff\xff\xff"]]]);
        self::assertSame(Exception\UnavailableException::class, get_class($e));
    }

    public function testThrowIfError(): void
    {
        StatusDecoder::throwIfError((object) ['code' => 0, 'details' => '', 'metadata' => []]);
        $this->expectException(Exception\NotFoundException::class);
        StatusDecoder::throwIfError(self::grpcStatus(5, 'MT5_NOT_FOUND', ['login' => '7']));
    }
}
