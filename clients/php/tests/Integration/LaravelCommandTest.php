<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Integration;

use Illuminate\Support\Facades\Artisan;
use Mt5Gateway\Laravel\Facades\Mt5Gateway;
use Mt5Gateway\Tests\Laravel\LaravelApp;
use Mt5Gateway\V1\GetUserRequest;
use PHPUnit\Framework\TestCase;
use Symfony\Component\Console\Input\ArgvInput;
use Symfony\Component\Console\Output\BufferedOutput;

/**
 * `php artisan mt5gateway:stream-quotes` on the real framework (Debian's Laravel 8.83,
 * booted by tests/Laravel/LaravelApp) against the running gateway scripts/test-php
 * starts (MT5GW_TEST_TARGET), configured the way an app is: through .env.
 */
final class LaravelCommandTest extends TestCase
{
    private const LINE = '/^\d+ (EURUSD|GBPUSD) bid=\d+(\.\d+)? ask=\d+(\.\d+)?$/';

    private LaravelApp $laravel;

    protected function setUp(): void
    {
        $target = getenv('MT5GW_TEST_TARGET');
        if ($target === false || $target === '') {
            self::markTestSkipped('MT5GW_TEST_TARGET not set: run scripts/test-php');
        }
        if (!extension_loaded('grpc')) {
            self::fail('ext-grpc is not loaded: run with php -d extension=grpc.so (scripts/test-php)');
        }
        $this->laravel = LaravelApp::create(dotenv: ['MT5GW_TARGET' => $target, 'MT5GW_DEADLINE_MS' => '10000']);
        $this->laravel->bootstrap();
    }

    protected function tearDown(): void
    {
        if (isset($this->laravel)) {
            $this->laravel->close();
        }
    }

    /** @return list<string> */
    private static function lines(string $output): array
    {
        return array_values(array_filter(explode("\n", $output), static fn (string $l) => $l !== ''));
    }

    public function testStreamQuotesThroughArtisanCall(): void
    {
        // A queue worker's own SIGTERM handler, which must survive the command.
        $pcntl = function_exists('pcntl_signal');
        $worker = static function (): void {
        };
        if ($pcntl) {
            pcntl_signal(SIGTERM, $worker);
        }

        $code = Artisan::call('mt5gateway:stream-quotes', ['symbols' => ['EURUSD', 'GBPUSD'], '--max' => 3]);
        $lines = self::lines(Artisan::output());
        self::assertSame(0, $code, implode("\n", $lines));
        self::assertCount(3, $lines, implode("\n", $lines));
        foreach ($lines as $line) {
            self::assertMatchesRegularExpression(self::LINE, $line);
        }
        // The snapshot first (sequence 1, 2), then the marker and live ticks: in order.
        $sequences = array_map(static fn (string $l) => (int) $l, $lines);
        self::assertSame([1, 2], array_slice($sequences, 0, 2));
        self::assertGreaterThan($sequences[1], $sequences[2]);

        if ($pcntl) {
            // The command's SIGTERM/SIGINT handlers are gone again.
            self::assertSame($worker, pcntl_signal_get_handler(SIGTERM));
            self::assertSame(SIG_DFL, pcntl_signal_get_handler(SIGINT));
            pcntl_signal(SIGTERM, SIG_DFL);
        }
    }

    public function testStreamQuotesFromArgvLikePhpArtisan(): void
    {
        // Kernel::handle with an argv, as `php artisan ...` runs it.
        $output = new BufferedOutput();
        $code = $this->laravel->kernel->handle(
            new ArgvInput(['artisan', 'mt5gateway:stream-quotes', 'GBPUSD', '--max=1', '--group=']),
            $output,
        );
        $lines = self::lines($output->fetch());
        self::assertSame(0, $code, implode("\n", $lines));
        self::assertCount(1, $lines);
        self::assertMatchesRegularExpression('/^\d+ GBPUSD bid=/', $lines[0]);
    }

    public function testUnknownSymbolEndsWithAnErrorLine(): void
    {
        $code = Artisan::call('mt5gateway:stream-quotes', ['symbols' => ['NOSUCH'], '--max' => 1]);
        $output = Artisan::output();
        self::assertSame(1, $code, $output);
        self::assertStringStartsWith('Mt5Gateway\\Client\\Exception\\NotFoundException (MT5_NOT_FOUND): ', $output);
    }

    public function testFacadeCallsTheGateway(): void
    {
        $user = Mt5Gateway::users()->GetUser(new GetUserRequest(['login' => 100041]))->getUser();
        self::assertSame(100041, (int) $user->getLogin());
    }
}
