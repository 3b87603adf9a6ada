<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Unit;

use Mt5Gateway\Client\ClientFactory;
use Mt5Gateway\Client\Gateway;
use Mt5Gateway\Client\Service;
use Mt5Gateway\Client\Uuid;
use Mt5Gateway\V1\CreateBalanceOperationRequest;
use Mt5Gateway\V1\GetUserRequest;
use Mt5Gateway\V1\UserServiceClient;
use PHPUnit\Framework\TestCase;

final class ClientFactoryTest extends TestCase
{
    public function testMetadataAndDeadline(): void
    {
        $f = new ClientFactory('127.0.0.1:1', apiKey: 'k1', metadata: ['X-Tenant' => 'a'], deadlineMs: 2500);
        self::assertSame(['x-tenant' => ['a', 'b'], 'x-api-key' => ['k1']], $f->metadata(['x-tenant' => 'b']));
        self::assertSame(['timeout' => 2_500_000], $f->callOptions());
        self::assertSame(['timeout' => 1000], $f->callOptions(1));
        self::assertSame([], (new ClientFactory('h:1', deadlineMs: null))->callOptions());
    }

    public function testFromConfig(): void
    {
        $f = ClientFactory::fromConfig([
            'target' => 'gw:50051', 'tls' => 'false', 'api_key' => '', 'deadline_ms' => '1500',
            'keepalive_time_ms' => '20000', 'channel_options' => ['grpc.lb_policy_name' => 'round_robin'],
        ]);
        self::assertSame('gw:50051', $f->target());
        self::assertSame(['timeout' => 1_500_000], $f->callOptions());
        self::assertSame([], $f->metadata());
        $options = $f->channelOptions();
        self::assertArrayHasKey('credentials', $options);
        self::assertNull($options['credentials']); // insecure
        self::assertSame(20000, $options['grpc.keepalive_time_ms']);
        self::assertSame('round_robin', $options['grpc.lb_policy_name']);
    }

    public function testFromConfigDeadline(): void
    {
        // Only a missing key takes the default; null or '' (`MT5GW_DEADLINE_MS=null` or
        // `MT5GW_DEADLINE_MS=` in .env) means none, as config/mt5gateway.php documents.
        self::assertSame(['timeout' => 10_000_000], ClientFactory::fromConfig(['target' => 'h:1'])->callOptions());
        self::assertSame([], ClientFactory::fromConfig(['target' => 'h:1', 'deadline_ms' => null])->callOptions());
        self::assertSame([], ClientFactory::fromConfig(['target' => 'h:1', 'deadline_ms' => ''])->callOptions());
    }

    public function testEmptyTargetIsRefused(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        ClientFactory::fromConfig([]);
    }

    public function testMutualTlsNeedsBothHalves(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        new ClientFactory('gw:443', tls: true, privateKey: 'k');
    }

    public function testFromConfigRefusesAnUnreadableTlsFile(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('mt5gateway: cannot read /nonexistent/mt5gw-ca.pem');
        ClientFactory::fromConfig(['target' => 'gw:443', 'tls' => true, 'ca_file' => '/nonexistent/mt5gw-ca.pem']);
    }

    public function testStubsShareOneChannel(): void
    {
        $f = new ClientFactory('127.0.0.1:1', tls: true);
        $users = $f->stub(UserServiceClient::class);
        self::assertSame($users, $f->stub(UserServiceClient::class));
        self::assertSame('127.0.0.1:1', $users->getTarget());
        self::assertInstanceOf(Service::class, (new Gateway($f))->users());
        $f->close();
    }

    public function testRequestIdIsFilledOnceForWritesOnly(): void
    {
        $write = new CreateBalanceOperationRequest(['login' => 1]);
        Service::ensureRequestId($write);
        $id = $write->getRequestId();
        self::assertMatchesRegularExpression('/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $id);
        Service::ensureRequestId($write);
        self::assertSame($id, $write->getRequestId());

        $read = new GetUserRequest(['login' => 1]);
        Service::ensureRequestId($read);
        self::assertSame((new GetUserRequest(['login' => 1]))->serializeToString(), $read->serializeToString());
        self::assertNotSame(Uuid::v4(), Uuid::v4());
    }
}
