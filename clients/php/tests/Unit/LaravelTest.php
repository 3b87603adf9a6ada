<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Unit;

use Illuminate\Config\Repository;
use Illuminate\Container\Container;
use Illuminate\Foundation\PackageManifest;
use Illuminate\Support\Facades\Artisan;
use Illuminate\Support\ServiceProvider;
use Mt5Gateway\Client\ClientFactory;
use Mt5Gateway\Client\Gateway;
use Mt5Gateway\Laravel\Console\StreamQuotesCommand;
use Mt5Gateway\Laravel\Facades\Mt5Gateway;
use Mt5Gateway\Laravel\Mt5GatewayServiceProvider;
use Mt5Gateway\Tests\Laravel\LaravelApp;
use PHPUnit\Framework\TestCase;

/**
 * The provider, config, facade and command on the real framework: Debian's
 * php-laravel-framework (8.83), booted through a real console kernel (tests/Laravel).
 * Offline: nothing here connects (the channel opens on the first call); the command's
 * run against a gateway is in tests/Integration/LaravelCommandTest.php.
 */
final class LaravelTest extends TestCase
{
    private const PACKAGE_CONFIG = __DIR__ . '/../../config/mt5gateway.php';

    private ?LaravelApp $laravel = null;

    protected function tearDown(): void
    {
        $this->laravel?->close();
        $this->laravel = null;
    }

    private function boot(array $dotenv = [], ?array $appConfig = null, array $processEnv = []): \Illuminate\Foundation\Application
    {
        $this->laravel = LaravelApp::create($dotenv, $appConfig, $processEnv);
        return $this->laravel->bootstrap();
    }

    public function testRealFrameworkIsLoaded(): void
    {
        $this->boot();
        // Not a stand-in: the Debian package's file, and the version these tests claim.
        $file = (new \ReflectionClass(\Illuminate\Foundation\Application::class))->getFileName();
        self::assertIsString($file);
        self::assertStringNotContainsString('/tests/', $file);
        self::assertMatchesRegularExpression('/^\d+\.\d+\.\d+/', $this->laravel->app->version());
    }

    public function testPackageDiscoveryFindsProviderAndAlias(): void
    {
        $app = $this->boot();
        $manifest = $app->make(PackageManifest::class);
        self::assertSame([Mt5GatewayServiceProvider::class], $manifest->providers());
        self::assertSame(['Mt5Gateway' => Mt5Gateway::class], $manifest->aliases());
        self::assertInstanceOf(Mt5GatewayServiceProvider::class, $app->getProvider(Mt5GatewayServiceProvider::class));
        self::assertTrue($app->isBooted());
    }

    public function testDefaultsWithoutEnvOrPublishedConfig(): void
    {
        $app = $this->boot();
        $config = $app['config']->get('mt5gateway');
        self::assertSame(require self::PACKAGE_CONFIG, $config);
        self::assertSame('127.0.0.1:50051', $config['target']);
        self::assertFalse($config['tls']);
        self::assertNull($config['api_key']);
        self::assertSame(10000, $config['deadline_ms']);
        self::assertSame('', $config['server']);

        $factory = $app->make(ClientFactory::class);
        self::assertSame('127.0.0.1:50051', $factory->target());
        self::assertSame(['timeout' => 10_000_000], $factory->callOptions());
        self::assertSame([], $factory->metadata());
        self::assertSame(30000, $factory->channelOptions()['grpc.keepalive_time_ms']);
    }

    public function testDotenvOverridesDefaults(): void
    {
        $app = $this->boot(dotenv: [
            'MT5GW_TARGET' => 'dns:///gw.internal:50051',
            'MT5GW_TLS' => 'true',
            'MT5GW_API_KEY' => 'secret',
            'MT5GW_DEADLINE_MS' => '2500',
            'MT5GW_KEEPALIVE_TIME_MS' => '60000',
            'MT5GW_SERVER' => '"MT5 Live"',
        ]);
        $config = $app['config']->get('mt5gateway');
        self::assertSame('dns:///gw.internal:50051', $config['target']);
        self::assertTrue($config['tls']);                // Env casts "true"
        self::assertSame('2500', $config['deadline_ms']); // a string from .env; fromConfig casts
        self::assertSame('MT5 Live', config('mt5gateway.server'));

        $factory = $app->make(ClientFactory::class);
        self::assertSame('dns:///gw.internal:50051', $factory->target());
        self::assertSame(['timeout' => 2_500_000], $factory->callOptions());
        self::assertSame(['x-api-key' => ['secret']], $factory->metadata());
        self::assertSame(60000, $factory->channelOptions()['grpc.keepalive_time_ms']);
    }

    public function testProcessEnvironmentBeatsDotenvAndNullDisablesTheDeadline(): void
    {
        $app = $this->boot(
            dotenv: ['MT5GW_TARGET' => 'from-dotenv:1', 'MT5GW_DEADLINE_MS' => 'null', 'MT5GW_TLS' => 'false'],
            processEnv: ['MT5GW_TARGET' => 'from-process:2'],
        );
        $factory = $app->make(ClientFactory::class);
        self::assertSame('from-process:2', $factory->target());
        self::assertSame([], $factory->callOptions());
        self::assertFalse($app['config']->get('mt5gateway.tls'));
    }

    public function testPublishedAppConfigWinsKeyByKey(): void
    {
        // mergeConfigFrom is shallow: the app's keys win, missing keys keep the package's.
        $app = $this->boot(
            dotenv: ['MT5GW_TARGET' => 'ignored:1'],
            appConfig: ['target' => '127.0.0.1:1', 'api_key' => 'k', 'metadata' => ['x-tenant' => 'crm-eu']],
        );
        $factory = $app->make(ClientFactory::class);
        self::assertSame('127.0.0.1:1', $factory->target());
        self::assertSame(['x-tenant' => ['crm-eu'], 'x-api-key' => ['k']], $factory->metadata());
        self::assertSame(['timeout' => 10_000_000], $factory->callOptions());
        self::assertSame(10000, $app['config']->get('mt5gateway.keepalive_timeout_ms'));
    }

    public function testSingletonsAliasAndFacadeShareOneInstance(): void
    {
        $app = $this->boot(dotenv: ['MT5GW_TARGET' => '127.0.0.1:1']);
        self::assertTrue($app->isShared(Gateway::class));
        self::assertTrue($app->isShared(ClientFactory::class));

        $gateway = $app->make(Gateway::class);
        self::assertSame($gateway, $app->make(Gateway::class));
        self::assertSame($gateway, $app->make('mt5gateway'));
        self::assertSame($gateway, app('mt5gateway'));
        self::assertSame($app->make(ClientFactory::class), $gateway->factory());

        // The facade class and its auto-discovered root alias (AliasLoader).
        self::assertSame($gateway, Mt5Gateway::getFacadeRoot());
        self::assertSame($gateway->factory(), Mt5Gateway::factory());
        self::assertInstanceOf(\Mt5Gateway\Client\Service::class, Mt5Gateway::users());
        self::assertTrue(class_exists('Mt5Gateway'));
        self::assertSame($gateway->factory(), \Mt5Gateway::factory());

        // Method injection, as in a controller or the command's handle().
        self::assertSame($gateway, $app->call(static fn (Gateway $g) => $g));
    }

    public function testPublishesTheConfigFile(): void
    {
        $app = $this->boot();
        $paths = ServiceProvider::pathsToPublish(Mt5GatewayServiceProvider::class, 'mt5gateway-config');
        self::assertCount(1, $paths);
        self::assertSame(realpath(self::PACKAGE_CONFIG), realpath((string) array_key_first($paths)));
        self::assertSame($app->configPath('mt5gateway.php'), $paths[array_key_first($paths)]);
        self::assertContains('mt5gateway-config', ServiceProvider::publishableGroups());
        self::assertContains(Mt5GatewayServiceProvider::class, ServiceProvider::publishableProviders());

        // And the real vendor:publish copies it.
        $target = $this->laravel->basePath . '/config/mt5gateway.php';
        self::assertFileDoesNotExist($target);
        self::assertSame(0, Artisan::call('vendor:publish', ['--tag' => 'mt5gateway-config']));
        self::assertFileEquals(self::PACKAGE_CONFIG, $target);
    }

    public function testCommandRegisteredWithItsSignature(): void
    {
        $this->boot();
        $commands = Artisan::all();
        self::assertArrayHasKey('mt5gateway:stream-quotes', $commands);
        $command = $commands['mt5gateway:stream-quotes'];
        self::assertInstanceOf(StreamQuotesCommand::class, $command);

        $definition = $command->getDefinition();
        $symbols = $definition->getArgument('symbols');
        self::assertTrue($symbols->isArray());
        self::assertTrue($symbols->isRequired());
        self::assertSame('0', $definition->getOption('max')->getDefault());
        self::assertTrue($definition->getOption('group')->acceptValue());
        self::assertStringContainsString("group's spreads", $definition->getOption('group')->getDescription());

        self::assertSame(0, Artisan::call('list'));
        self::assertMatchesRegularExpression('/mt5gateway:stream-quotes\s+Stream live quotes/', Artisan::output());
    }

    public function testCommandRefusesMissingSymbolsBeforeConnecting(): void
    {
        $this->boot();
        $this->expectException(\Symfony\Component\Console\Exception\RuntimeException::class);
        $this->expectExceptionMessage('Not enough arguments (missing: "symbols")');
        Artisan::call('mt5gateway:stream-quotes');
    }

    public function testNoCommandOutsideTheConsole(): void
    {
        // A web request (PHP-FPM): the provider skips commands(), config and bindings stay.
        $app = $this->boot(processEnv: ['APP_RUNNING_IN_CONSOLE' => 'false']);
        self::assertFalse($app->runningInConsole());
        self::assertArrayNotHasKey('mt5gateway:stream-quotes', Artisan::all());
        self::assertInstanceOf(Gateway::class, $app->make('mt5gateway'));
        self::assertNotEmpty(ServiceProvider::pathsToPublish(Mt5GatewayServiceProvider::class));
    }

    public function testRegisterNeedsOnlyAContainerAndConfig(): void
    {
        // register() on a bare Illuminate container (no Foundation), e.g. a package test.
        $container = new Container();
        $container->instance('config', new Repository(['mt5gateway' => ['target' => '127.0.0.1:9']]));
        try {
            (new Mt5GatewayServiceProvider($container))->register();
            $gateway = $container->make('mt5gateway');
            self::assertSame($gateway, $container->make(Gateway::class));
            self::assertSame('127.0.0.1:9', $gateway->factory()->target());
            self::assertSame(['timeout' => 10_000_000], $gateway->factory()->callOptions());
        } finally {
            $container->flush();
        }
    }
}
