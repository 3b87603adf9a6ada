<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Laravel;

use Illuminate\Console\Application as Artisan;
use Illuminate\Container\Container;
use Illuminate\Contracts\Console\Kernel as KernelContract;
use Illuminate\Foundation\Application;
use Illuminate\Support\Facades\Facade;
use Illuminate\Support\Env;
use Illuminate\Support\ServiceProvider;

/**
 * A throw-away Laravel application on the real framework (Debian's php-laravel-framework,
 * /usr/share/php/Illuminate): a temporary base path with config/app.php, an optional
 * .env and app config/mt5gateway.php, bootstrap/cache, and vendor/composer/installed.json
 * listing this package, so the provider and the facade alias arrive through Laravel's
 * own package discovery (PackageManifest reads `extra.laravel` from composer.json), as in
 * an app that ran `composer require mt5gateway/client`.
 *
 * close() undoes the process-wide state Laravel keeps in statics (container instance,
 * facade root, Artisan starting callbacks, publish registry) and the environment
 * variables Dotenv wrote, so every test starts from a clean process state.
 */
final class LaravelApp
{
    /** What config/mt5gateway.php and the tests read; saved, cleared and restored. */
    public const ENV = [
        'MT5GW_TARGET', 'MT5GW_TLS', 'MT5GW_CA_FILE', 'MT5GW_CLIENT_CERT_FILE', 'MT5GW_CLIENT_KEY_FILE',
        'MT5GW_API_KEY', 'MT5GW_DEADLINE_MS', 'MT5GW_KEEPALIVE_TIME_MS', 'MT5GW_KEEPALIVE_TIMEOUT_MS',
        'MT5GW_SERVER', 'APP_RUNNING_IN_CONSOLE', 'COLUMNS', 'LINES',
    ];

    public readonly Application $app;
    public readonly ConsoleKernel $kernel;

    /** @var array<string, array{string|false, mixed, mixed}> getenv, $_ENV, $_SERVER */
    private array $savedEnv = [];

    /**
     * @param array<string, string|int> $dotenv the app's .env (none when empty)
     * @param array<string, mixed>|null $appConfig the app's own config/mt5gateway.php (null = not published)
     * @param array<string, string> $processEnv real environment variables (beat .env)
     */
    public function __construct(public readonly string $basePath, array $dotenv = [], ?array $appConfig = null, array $processEnv = [])
    {
        if (!class_exists(Application::class)) {
            throw new \RuntimeException('Illuminate\\Foundation\\Application missing: apt-get install php-laravel-framework (scripts/test-php does)');
        }
        Env::enablePutenv(); // a fresh repository (see close())
        foreach (self::ENV as $name) {
            $this->savedEnv[$name] = [getenv($name), $_ENV[$name] ?? null, $_SERVER[$name] ?? null];
            self::unsetEnv($name);
        }
        // Symfony Console sizes the terminal on every run; without COLUMNS and LINES it
        // proc_open()s `stty -a`. With grpc.enable_fork_support=1 (scripts/test-php sets
        // it, as the README advises for PHP-FPM) the forked child of ext-grpc 1.51 on
        // Debian's libgrpc hangs in its postfork grpc_shutdown(), and so would the test.
        $processEnv += ['COLUMNS' => '120', 'LINES' => '50'];
        foreach ($processEnv as $name => $value) {
            putenv("{$name}={$value}");
            $_ENV[$name] = $_SERVER[$name] = $value;
        }

        foreach (['config', 'bootstrap/cache', 'vendor/composer'] as $dir) {
            if (!is_dir("{$basePath}/{$dir}") && !mkdir("{$basePath}/{$dir}", 0o777, true)) {
                throw new \RuntimeException("cannot create {$basePath}/{$dir}");
            }
        }
        self::write("{$basePath}/config/app.php", '<?php return ' . var_export([
            'name' => 'mt5gw-test',
            'env' => 'testing',
            'debug' => true,
            'url' => 'http://localhost',
            'timezone' => 'UTC',
            // Ours comes from package discovery; vendor:publish needs `files`.
            'providers' => [\Illuminate\Filesystem\FilesystemServiceProvider::class],
            'aliases' => [],
        ], true) . ";\n");
        if ($appConfig !== null) {
            self::write("{$basePath}/config/mt5gateway.php", '<?php return ' . var_export($appConfig, true) . ";\n");
        }
        if ($dotenv !== []) {
            $lines = '';
            foreach ($dotenv as $name => $value) {
                $lines .= "{$name}={$value}\n";
            }
            self::write("{$basePath}/.env", $lines);
        }
        // Composer 2's installed.json: this package as `composer require` leaves it.
        $composer = json_decode((string) file_get_contents(__DIR__ . '/../../composer.json'), true, flags: JSON_THROW_ON_ERROR);
        self::write("{$basePath}/vendor/composer/installed.json", json_encode([
            'packages' => [$composer + ['version' => 'dev-main', 'install-path' => '../mt5gateway/client']],
            'dev' => true,
        ], JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES));

        // What an app's bootstrap/app.php does.
        $this->app = new Application($basePath);
        $this->app->singleton(KernelContract::class, ConsoleKernel::class);
        $kernel = $this->app->make(KernelContract::class);
        assert($kernel instanceof ConsoleKernel);
        $this->kernel = $kernel;
    }

    public static function create(array $dotenv = [], ?array $appConfig = null, array $processEnv = []): self
    {
        $base = sys_get_temp_dir() . '/mt5gw-laravel-' . bin2hex(random_bytes(6));
        return new self($base, $dotenv, $appConfig, $processEnv);
    }

    /** The console kernel's bootstrap: .env, config, facades, providers (discovered), boot. */
    public function bootstrap(): Application
    {
        $this->kernel->bootstrap();
        return $this->app;
    }

    public function close(): void
    {
        Artisan::forgetBootstrappers();
        Facade::clearResolvedInstances();
        Facade::setFacadeApplication(null);
        ServiceProvider::$publishes = [];
        ServiceProvider::$publishGroups = [];
        // Env's repository is static, and its immutable writer remembers what the last
        // .env loaded (and would overwrite it on the next load): start afresh.
        Env::enablePutenv();
        $this->app->flush();
        Container::setInstance(null);
        foreach ($this->savedEnv as $name => [$getenv, $env, $server]) {
            self::unsetEnv($name);
            if ($getenv !== false) {
                putenv("{$name}={$getenv}");
            }
            if ($env !== null) {
                $_ENV[$name] = $env;
            }
            if ($server !== null) {
                $_SERVER[$name] = $server;
            }
        }
        self::remove($this->basePath);
    }

    private static function unsetEnv(string $name): void
    {
        putenv($name);
        unset($_ENV[$name], $_SERVER[$name]);
    }

    private static function write(string $path, string $data): void
    {
        if (file_put_contents($path, $data) === false) {
            throw new \RuntimeException("cannot write {$path}");
        }
    }

    private static function remove(string $path): void
    {
        if (is_dir($path) && !is_link($path)) {
            foreach (scandir($path) ?: [] as $entry) {
                if ($entry !== '.' && $entry !== '..') {
                    self::remove("{$path}/{$entry}");
                }
            }
            rmdir($path);
        } elseif (file_exists($path) || is_link($path)) {
            unlink($path);
        }
    }
}
