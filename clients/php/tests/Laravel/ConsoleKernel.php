<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Laravel;

use Illuminate\Foundation\Console\Kernel;
use Illuminate\Foundation\Console\VendorPublishCommand;

/**
 * An app's App\Console\Kernel: the stock bootstrappers minus HandleExceptions (it would
 * install Laravel's error/exception handlers process-wide, over PHPUnit's), plus
 * vendor:publish (normally from ArtisanServiceProvider, which brings ~70 commands).
 */
final class ConsoleKernel extends Kernel
{
    /** @var list<class-string> */
    protected $bootstrappers = [
        \Illuminate\Foundation\Bootstrap\LoadEnvironmentVariables::class,
        \Illuminate\Foundation\Bootstrap\LoadConfiguration::class,
        \Illuminate\Foundation\Bootstrap\RegisterFacades::class,
        \Illuminate\Foundation\Bootstrap\SetRequestForConsole::class,
        \Illuminate\Foundation\Bootstrap\RegisterProviders::class,
        \Illuminate\Foundation\Bootstrap\BootProviders::class,
    ];

    /** @var list<class-string> */
    protected $commands = [VendorPublishCommand::class];
}
