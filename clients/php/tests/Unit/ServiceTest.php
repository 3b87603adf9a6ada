<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Unit;

use Mt5Gateway\Client\ClientFactory;
use Mt5Gateway\Client\Exception\NoMoneyException;
use Mt5Gateway\Client\Service;
use Mt5Gateway\V1\CreateBalanceOperationRequest;
use Mt5Gateway\V1\CreateBalanceOperationResponse;
use Mt5Gateway\V1\GetUserRequest;
use PHPUnit\Framework\TestCase;

/** A generated-client stand-in recording what Service passes to the stub. */
final class RecordingStub extends \Grpc\BaseStub
{
    /** @var list<array{string, object, array<string, list<string>>, array<string, mixed>}> */
    public array $calls = [];
    public ?object $status = null;

    public function __construct()
    {
        // no channel: the stub never sends anything
    }

    /** @param array<string, list<string>> $metadata @param array<string, mixed> $options */
    public function CreateBalanceOperation(CreateBalanceOperationRequest $request, array $metadata = [], array $options = []): object
    {
        return $this->record(__FUNCTION__, $request, $metadata, $options, new CreateBalanceOperationResponse(['replayed' => true]));
    }

    /** @param array<string, list<string>> $metadata @param array<string, mixed> $options */
    public function StreamQuotes(object $request, array $metadata = [], array $options = []): object
    {
        $this->calls[] = [__FUNCTION__, $request, $metadata, $options];
        return new \ArrayObject();
    }

    /**
     * @param array<string, list<string>> $metadata
     * @param array<string, mixed> $options
     */
    private function record(string $method, object $request, array $metadata, array $options, object $response): object
    {
        $this->calls[] = [$method, $request, $metadata, $options];
        $status = $this->status ?? (object) ['code' => 0, 'details' => '', 'metadata' => []];
        return new class ($response, $status) {
            public function __construct(private object $response, private object $status)
            {
            }

            /** @return array{object, object} */
            public function wait(): array
            {
                return [$this->response, $this->status];
            }
        };
    }
}

final class ServiceTest extends TestCase
{
    private RecordingStub $stub;
    private Service $service;

    protected function setUp(): void
    {
        $this->stub = new RecordingStub();
        $this->service = new Service($this->stub, new ClientFactory('127.0.0.1:1', apiKey: 'k', deadlineMs: 1500));
    }

    public function testUnaryCallGetsMetadataDeadlineAndRequestId(): void
    {
        $request = new CreateBalanceOperationRequest(['login' => 5]);
        $reply = $this->service->CreateBalanceOperation($request, ['x-trace' => 't1']);
        self::assertTrue($reply->getReplayed());
        [$method, $sent, $metadata, $options] = $this->stub->calls[0];
        self::assertSame('CreateBalanceOperation', $method);
        self::assertSame($request, $sent);
        self::assertNotSame('', $request->getRequestId());
        self::assertSame(['x-trace' => ['t1'], 'x-api-key' => ['k']], $metadata);
        self::assertSame(['timeout' => 1_500_000], $options);

        // A per-call timeout wins; the same object keeps its request_id on a retry.
        $id = $request->getRequestId();
        $this->service->CreateBalanceOperation($request, [], ['timeout' => 5]);
        self::assertSame(['timeout' => 5], $this->stub->calls[1][3]);
        self::assertSame($id, $request->getRequestId());
    }

    public function testErrorsAreTyped(): void
    {
        $this->stub->status = StatusDecoderTest::grpcStatus(9, 'MT5_NO_MONEY', ['retcode' => '10019']);
        $this->expectException(NoMoneyException::class);
        $this->service->CreateBalanceOperation(new CreateBalanceOperationRequest(['login' => 5]));
    }

    public function testStreamsGetNoDefaultDeadline(): void
    {
        $this->service->StreamQuotes(new \Mt5Gateway\V1\StreamQuotesRequest());
        self::assertSame([], $this->stub->calls[0][3]);
    }

    public function testUnknownMethodAndMissingRequest(): void
    {
        try {
            $this->service->GetUser(new GetUserRequest());
            self::fail('expected BadMethodCallException');
        } catch (\BadMethodCallException) {
        }
        $this->expectException(\InvalidArgumentException::class);
        $this->service->CreateBalanceOperation();
    }
}
