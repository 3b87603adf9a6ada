<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Unit;

use Illuminate\Support\ServiceProvider;
use Mt5Gateway\Client\ClientFactory;
use Mt5Gateway\Client\Gateway;
use Mt5Gateway\Laravel\Console\StreamQuotesCommand;
use Mt5Gateway\Laravel\Facades\Mt5Gateway;
use Mt5Gateway\Laravel\Mt5GatewayServiceProvider;
use Mt5Gateway\Tests\Stubs\FakeApplication;
use Mt5Gateway\Tests\Stubs\FakeConfig;
use PHPUnit\Framework\TestCase;

/**
 * The provider, config and facade against the minimal container in tests/Stubs (or
 * real Laravel classes when installed: then only the composer metadata is checked).
 */
final class LaravelTest extends TestCase
{
    protected function setUp(): void
    {
        if (!class_exists(FakeApplication::class, false)) {
            self::markTestSkipped('real Laravel installed: the stub container is not loaded');
        }
    }

    public function testComposerAutoDiscovery(): void
    {
        $composer = json_decode((string) file_get_contents(__DIR__ . '/../../composer.json'), true, flags: JSON_THROW_ON_ERROR);
        self::assertSame([Mt5GatewayServiceProvider::class], $composer['extra']['laravel']['providers']);
        self::assertSame(Mt5Gateway::class, $composer['extra']['laravel']['aliases']['Mt5Gateway']);
    }

    public function testConfigReadsEnvironment(): void
    {
        putenv('MT5GW_TARGET=gw.internal:50051');
        putenv('MT5GW_TLS=true');
        putenv('MT5GW_API_KEY=secret');
        putenv('MT5GW_DEADLINE_MS=2500');
        try {
            $config = require __DIR__ . '/../../config/mt5gateway.php';
        } finally {
            putenv('MT5GW_TARGET');
            putenv('MT5GW_TLS');
            putenv('MT5GW_API_KEY');
            putenv('MT5GW_DEADLINE_MS');
        }
        self::assertSame('gw.internal:50051', $config['target']);
        self::assertTrue($config['tls']);
        self::assertSame('secret', $config['api_key']);
        $factory = ClientFactory::fromConfig($config);
        self::assertSame(['timeout' => 2_500_000], $factory->callOptions());
        self::assertSame(['x-api-key' => ['secret']], $factory->metadata());
    }

    public function testProviderBindsSingletonsAndFacade(): void
    {
        // An app config value wins over the package default (mergeConfigFrom).
        $app = new FakeApplication(new FakeConfig(['mt5gateway' => ['target' => '127.0.0.1:1', 'api_key' => 'k']]));
        $provider = new Mt5GatewayServiceProvider($app);
        $provider->register();
        $provider->boot();

        $gateway = $app->make(Gateway::class);
        self::assertSame($gateway, $app->make('mt5gateway'));
        self::assertSame($app->make(ClientFactory::class), $gateway->factory());
        self::assertSame('127.0.0.1:1', $gateway->factory()->target());
        self::assertSame(['x-api-key' => ['k']], $gateway->factory()->metadata());
        self::assertSame(10_000_000, $gateway->factory()->callOptions()['timeout']);
        self::assertSame([StreamQuotesCommand::class], $app->commands);
        self::assertSame(['/app/config/mt5gateway.php'], array_values(ServiceProvider::$publishes['mt5gateway-config']));

        Mt5Gateway::setFacadeApplication($app);
        self::assertSame($gateway->factory(), Mt5Gateway::factory());
    }
}
