<?php

// Minimal stand-ins for the few Illuminate classes the Laravel integration touches, so
// the provider, facade and command can be exercised offline (Packagist is unreachable).
// They mimic Laravel 10/11 behaviour for exactly these calls; a real Laravel install
// replaces them (bootstrap.php loads this file only when Laravel is absent).

declare(strict_types=1);

namespace Illuminate\Support {
    abstract class ServiceProvider
    {
        /** @var array<string, array<string, string>> */
        public static array $publishes = [];

        public function __construct(protected $app)
        {
        }

        protected function mergeConfigFrom(string $path, string $key): void
        {
            $config = $this->app['config'];
            $config->set($key, array_merge(require $path, $config->get($key, [])));
        }

        /** @param array<string, string> $paths */
        protected function publishes(array $paths, ?string $group = null): void
        {
            static::$publishes[$group ?? ''] = array_merge(static::$publishes[$group ?? ''] ?? [], $paths);
        }

        /** @param list<class-string> $commands */
        public function commands(array $commands): void
        {
            $this->app->commands = array_merge($this->app->commands, $commands);
        }
    }
}

namespace Illuminate\Support\Facades {
    abstract class Facade
    {
        protected static $app;

        public static function setFacadeApplication($app): void
        {
            static::$app = $app;
        }

        abstract protected static function getFacadeAccessor(): string;

        public static function __callStatic(string $method, array $args): mixed
        {
            return static::$app->make(static::getFacadeAccessor())->$method(...$args);
        }
    }
}

namespace Illuminate\Console {
    class Command
    {
        public const SUCCESS = 0;
        public const FAILURE = 1;

        /** @var array<string, mixed> */
        public array $arguments = [];
        /** @var array<string, mixed> */
        public array $options = [];
        /** @var list<string> */
        public array $output = [];

        public function argument(string $key): mixed
        {
            return $this->arguments[$key] ?? null;
        }

        public function option(string $key): mixed
        {
            return $this->options[$key] ?? null;
        }

        public function line(string $text): void
        {
            $this->output[] = $text;
        }

        public function error(string $text): void
        {
            $this->output[] = 'ERROR ' . $text;
        }
    }
}

namespace Mt5Gateway\Tests\Stubs {
    /** A tiny container with the calls the provider makes. */
    final class FakeApplication implements \ArrayAccess
    {
        /** @var array<string, \Closure> */
        private array $factories = [];
        /** @var array<string, mixed> */
        private array $instances = [];
        /** @var array<string, string> */
        private array $aliases = [];
        /** @var list<class-string> */
        public array $commands = [];

        public function __construct(public FakeConfig $config = new FakeConfig(), public bool $console = true)
        {
            $this->instances['config'] = $this->config;
        }

        public function singleton(string $abstract, \Closure $factory): void
        {
            $this->factories[$abstract] = $factory;
        }

        public function alias(string $abstract, string $alias): void
        {
            $this->aliases[$alias] = $abstract;
        }

        public function make(string $abstract): mixed
        {
            $abstract = $this->aliases[$abstract] ?? $abstract;
            return $this->instances[$abstract] ??= ($this->factories[$abstract])($this);
        }

        public function runningInConsole(): bool
        {
            return $this->console;
        }

        public function configPath(string $path = ''): string
        {
            return '/app/config/' . $path;
        }

        public function offsetExists(mixed $offset): bool
        {
            return isset($this->instances[$offset]) || isset($this->factories[$offset]);
        }

        public function offsetGet(mixed $offset): mixed
        {
            return $this->make($offset);
        }

        public function offsetSet(mixed $offset, mixed $value): void
        {
            $this->instances[$offset] = $value;
        }

        public function offsetUnset(mixed $offset): void
        {
            unset($this->instances[$offset]);
        }
    }

    final class FakeConfig
    {
        /** @param array<string, mixed> $items */
        public function __construct(public array $items = [])
        {
        }

        public function get(string $key, mixed $default = null): mixed
        {
            $value = $this->items;
            foreach (explode('.', $key) as $part) {
                if (!is_array($value) || !array_key_exists($part, $value)) {
                    return $default;
                }
                $value = $value[$part];
            }
            return $value;
        }

        public function set(string $key, mixed $value): void
        {
            $this->items[$key] = $value;
        }
    }
}

namespace {
    if (!function_exists('env')) {
        function env(string $key, mixed $default = null): mixed
        {
            $value = getenv($key);
            if ($value === false) {
                return $default;
            }
            return match (strtolower($value)) {
                'true', '(true)' => true,
                'false', '(false)' => false,
                'null', '(null)' => null,
                default => $value,
            };
        }
    }
    if (!function_exists('config')) {
        function config(string $key, mixed $default = null): mixed
        {
            return $GLOBALS['__mt5gw_test_config']?->get($key, $default) ?? $default;
        }
    }
}
