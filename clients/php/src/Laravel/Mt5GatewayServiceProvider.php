<?php

declare(strict_types=1);

namespace Mt5Gateway\Laravel;

use Illuminate\Support\ServiceProvider;
use Mt5Gateway\Client\ClientFactory;
use Mt5Gateway\Client\Gateway;
use Mt5Gateway\Laravel\Console\StreamQuotesCommand;

/**
 * Auto-discovered through composer.json `extra.laravel.providers`. Binds ClientFactory
 * and Gateway as singletons (one channel per PHP process; under PHP-FPM ext-grpc keeps
 * it across requests) and the `mt5gateway` alias used by the facade.
 *
 * Not deferred (no DeferrableProvider): boot() registers the publishable config and the
 * console command, which a deferred provider would only do once something resolved a
 * binding. Registering is cheap: nothing connects until Gateway is first resolved.
 *
 * Uses only ServiceProvider/Application APIs that are the same in Laravel 8 to 11
 * (mergeConfigFrom, publishes, commands, singleton, alias, configPath,
 * runningInConsole); tests/Unit/LaravelTest.php boots Debian's Laravel 8.83.
 */
final class Mt5GatewayServiceProvider extends ServiceProvider
{
    private const CONFIG = __DIR__ . '/../../config/mt5gateway.php';

    public function register(): void
    {
        $this->mergeConfigFrom(self::CONFIG, 'mt5gateway');

        $this->app->singleton(ClientFactory::class, static function ($app): ClientFactory {
            return ClientFactory::fromConfig((array) $app['config']->get('mt5gateway', []));
        });
        $this->app->singleton(Gateway::class, static function ($app): Gateway {
            return new Gateway($app->make(ClientFactory::class));
        });
        $this->app->alias(Gateway::class, 'mt5gateway');
    }

    public function boot(): void
    {
        $this->publishes([self::CONFIG => $this->app->configPath('mt5gateway.php')], 'mt5gateway-config');
        if ($this->app->runningInConsole()) {
            $this->commands([StreamQuotesCommand::class]);
        }
    }
}
