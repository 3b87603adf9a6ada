<?php

declare(strict_types=1);

// PHPUnit bootstrap for offline runs (scripts/test-php): composer's autoloader for this
// package, plus what Packagist would install, taken from the machine instead:
//   Google\Protobuf\*      Debian php-google-protobuf (/usr/share/php), unless ext-protobuf
//   Grpc\*                 grpc's PHP lib from the Debian grpc source package (GRPC_PHP_LIB)
//   Illuminate\*           Debian php-laravel-framework (Laravel 8.83 and its Symfony
//                          Console etc.), unless composer installed Laravel

$autoload = __DIR__ . '/../vendor/autoload.php';
if (!is_file($autoload)) {
    fwrite(STDERR, "vendor/autoload.php missing: run `composer dump-autoload --dev` in clients/php\n");
    exit(1);
}
require $autoload;

/** @param array<string, string> $map namespace prefix => directory */
$psr4 = static function (array $map): void {
    spl_autoload_register(static function (string $class) use ($map): void {
        foreach ($map as $prefix => $dir) {
            if (str_starts_with($class, $prefix)) {
                $file = $dir . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
                if (is_file($file)) {
                    require $file;
                    return;
                }
            }
        }
    });
};

$share = getenv('PHP_SHARE_DIR') ?: '/usr/share/php';
$psr4([
    'Google\\Protobuf\\' => $share . '/Google/Protobuf',
    'GPBMetadata\\Google\\Protobuf\\' => $share . '/GPBMetadata/Google/Protobuf',
]);

$grpcLib = getenv('GRPC_PHP_LIB');
if ($grpcLib !== false && $grpcLib !== '') {
    $psr4(['Grpc\\' => rtrim($grpcLib, '/') . '/Grpc']);
}

// Debian's autoloader requires its dependencies' autoloaders by include path.
if (!class_exists(\Illuminate\Foundation\Application::class) && is_file($share . '/Illuminate/autoload.php')) {
    set_include_path($share . PATH_SEPARATOR . get_include_path());
    require $share . '/Illuminate/autoload.php';
}
// Without it the Laravel tests fail loudly (tests/Laravel/LaravelApp.php says what to install).
