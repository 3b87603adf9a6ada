<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Integration;

use Mt5Gateway\Client\ClientFactory;
use Mt5Gateway\Client\Exception\GatewayException;
use Mt5Gateway\Client\Exception\UnavailableException;
use Mt5Gateway\Client\Gateway;
use Mt5Gateway\Laravel\Facades\Mt5Gateway;
use Mt5Gateway\Tests\Laravel\LaravelApp;
use Mt5Gateway\V1\GetUserRequest;
use PHPUnit\Framework\TestCase;

/**
 * TLS and mutual TLS through real ext-grpc against a gateway that serves both on its gRPC
 * port (MT5GW_GRPC__TLS_CERT_FILE, __TLS_KEY_FILE and __TLS_CLIENT_CA_FILE). The pytest
 * wrapper (tests/integration/clients/test_php_client.py) starts that gateway with freshly
 * generated certificates and sets:
 *
 *   MT5GW_TEST_TLS_TARGET        host:port of the TLS + mutual-TLS gateway
 *   MT5GW_TEST_TLS_CA            the CA that issued the gateway's certificate
 *   MT5GW_TEST_TLS_CLIENT_CERT   a client certificate from the gateway's client CA
 *   MT5GW_TEST_TLS_CLIENT_KEY    its key
 *   MT5GW_TEST_TLS_ROGUE_CA      another CA (did not issue the gateway's certificate)
 *   MT5GW_TEST_TLS_ROGUE_CERT    a client certificate that CA issued (the gateway refuses it)
 *   MT5GW_TEST_TLS_ROGUE_KEY     its key
 *
 * Without them (scripts/test-php on its own starts a plaintext gateway only) the tests
 * are skipped; the wrapper runs PHPUnit with --fail-on-skipped and checks the JUnit log.
 */
final class TlsTest extends TestCase
{
    private const ENV = [
        'target' => 'MT5GW_TEST_TLS_TARGET',
        'ca' => 'MT5GW_TEST_TLS_CA',
        'cert' => 'MT5GW_TEST_TLS_CLIENT_CERT',
        'key' => 'MT5GW_TEST_TLS_CLIENT_KEY',
        'rogue_ca' => 'MT5GW_TEST_TLS_ROGUE_CA',
        'rogue_cert' => 'MT5GW_TEST_TLS_ROGUE_CERT',
        'rogue_key' => 'MT5GW_TEST_TLS_ROGUE_KEY',
    ];
    private const LOGIN = 100000;        // seeded user (seed 1)
    private const DEADLINE_MS = 10_000;
    // A refused handshake must end the call at once with UNAVAILABLE, long before the
    // deadline: a caller must not wait out its deadline on a misconfigured certificate.
    private const FAST_MS = 3_000;

    /** @var array<string, string> file paths (and the target) by the keys of ENV */
    private array $env = [];
    /** @var list<ClientFactory> */
    private array $factories = [];
    private ?LaravelApp $laravel = null;

    protected function setUp(): void
    {
        foreach (self::ENV as $key => $name) {
            $value = getenv($name);
            if ($value === false || $value === '') {
                self::markTestSkipped("{$name} not set: the pytest wrapper tests/integration/clients/test_php_client.py starts a TLS gateway");
            }
            if ($key !== 'target' && !is_readable($value)) {
                self::fail("{$name}={$value} is not a readable file");
            }
            $this->env[$key] = $value;
        }
        if (!extension_loaded('grpc')) {
            self::fail('ext-grpc is not loaded: run with php -d extension=grpc.so (scripts/test-php)');
        }
    }

    protected function tearDown(): void
    {
        foreach ($this->factories as $factory) {
            $factory->close();
        }
        $this->factories = [];
        $this->laravel?->close();
        $this->laravel = null;
    }

    private function pem(string $key): string
    {
        $data = file_get_contents($this->env[$key]);
        self::assertIsString($data);
        return $data;
    }

    /** A factory on the TLS gateway: $ca, $cert and $key name ENV entries (null = none). */
    private function factory(bool $tls = true, ?string $ca = 'ca', ?string $cert = null, ?string $key = null): ClientFactory
    {
        return $this->factories[] = new ClientFactory(
            $this->env['target'],
            tls: $tls,
            rootCertificates: $ca === null ? null : $this->pem($ca),
            deadlineMs: self::DEADLINE_MS,
            privateKey: $key === null ? null : $this->pem($key),
            certificateChain: $cert === null ? null : $this->pem($cert),
        );
    }

    private static function login(ClientFactory $factory): int
    {
        $reply = (new Gateway($factory))->users()->GetUser(new GetUserRequest(['login' => self::LOGIN]));
        return (int) $reply->getUser()->getLogin();
    }

    /**
     * The call fails with a plain UnavailableException (a transport failure, no ErrorInfo)
     * well before the deadline; $detail: a part of grpc-core's message (ext-grpc 1.51).
     */
    private static function assertRefused(ClientFactory $factory, string $why, ?string $detail = null): void
    {
        $started = hrtime(true);
        try {
            self::login($factory);
            self::fail("{$why}: GetUser succeeded");
        } catch (GatewayException $e) {
            $elapsedMs = (hrtime(true) - $started) / 1e6;
            self::assertSame(UnavailableException::class, get_class($e), "{$why}: " . get_class($e) . ': ' . $e->getMessage());
            self::assertSame(14, $e->getStatusCode());
            self::assertSame('', $e->getReason(), 'refused by TLS, not answered by the gateway');
            self::assertTrue($e->isRetryable());
            self::assertLessThan(self::FAST_MS, $elapsedMs, "{$why}: took {$elapsedMs} ms (deadline " . self::DEADLINE_MS . ' ms)');
            if ($detail !== null) {
                self::assertStringContainsString($detail, $e->getMessage(), $why);
            }
        }
    }

    public function testMutualTlsWithTheClientCertificateSucceeds(): void
    {
        $factory = $this->factory(cert: 'cert', key: 'key');
        self::assertSame(self::LOGIN, self::login($factory));
        // The raw generated stub on the same (TLS) channel.
        $gw = new Gateway($factory);
        [$reply, $status] = $gw->users()->stub()
            ->GetUser(new GetUserRequest(['login' => self::LOGIN]), $factory->metadata(), $factory->callOptions())
            ->wait();
        self::assertSame(0, $status->code, (string) $status->details);
        self::assertSame(self::LOGIN, (int) $reply->getUser()->getLogin());
    }

    public function testWithoutAClientCertificateTheCallFailsFastWithUnavailable(): void
    {
        self::assertRefused($this->factory(), 'no client certificate');
    }

    public function testAClientCertificateFromAnotherCaIsRefused(): void
    {
        self::assertRefused($this->factory(cert: 'rogue_cert', key: 'rogue_key'), 'client certificate from another CA');
    }

    public function testPlaintextAgainstTheTlsPortFails(): void
    {
        self::assertRefused($this->factory(tls: false, ca: null), 'plaintext');
    }

    public function testAClientThatDoesNotTrustTheGatewayCaRefusesIt(): void
    {
        // A valid client certificate, but the gateway's certificate is checked against
        // another CA, or the system roots (tls on, no ca_file): the client ends the
        // handshake itself (the server-side refusals above read "Socket closed").
        $failed = 'Ssl handshake failed';
        self::assertRefused($this->factory(ca: 'rogue_ca', cert: 'cert', key: 'key'), 'gateway CA not trusted', $failed);
        self::assertRefused($this->factory(ca: null, cert: 'cert', key: 'key'), 'system roots only', $failed);
    }

    public function testLaravelConfigKeysThroughFromConfig(): void
    {
        $config = [
            'target' => $this->env['target'],
            'tls' => 'true',       // as a string from the environment; FILTER_VALIDATE_BOOL
            'ca_file' => $this->env['ca'],
            'client_cert_file' => $this->env['cert'],
            'client_key_file' => $this->env['key'],
            'deadline_ms' => self::DEADLINE_MS,
        ];
        $factory = $this->factories[] = ClientFactory::fromConfig($config);
        self::assertSame(self::LOGIN, self::login($factory));

        // The same keys without the client certificate: refused by the gateway.
        $withoutCert = $this->factories[] = ClientFactory::fromConfig(
            ['client_cert_file' => null, 'client_key_file' => ''] + $config,
        );
        self::assertRefused($withoutCert, 'config without client_cert_file/client_key_file');
    }

    public function testLaravelAppConfiguredThroughDotenv(): void
    {
        // A real Laravel app (tests/Laravel/LaravelApp.php) with the package's config read
        // from .env, as an app deploys it; the provider builds the factory (fromConfig).
        $this->laravel = LaravelApp::create(dotenv: [
            'MT5GW_TARGET' => $this->env['target'],
            'MT5GW_TLS' => 'true',
            'MT5GW_CA_FILE' => $this->env['ca'],
            'MT5GW_CLIENT_CERT_FILE' => $this->env['cert'],
            'MT5GW_CLIENT_KEY_FILE' => $this->env['key'],
            'MT5GW_DEADLINE_MS' => (string) self::DEADLINE_MS,
        ]);
        $app = $this->laravel->bootstrap();
        $this->factories[] = $app->make(ClientFactory::class);
        $user = Mt5Gateway::users()->GetUser(new GetUserRequest(['login' => self::LOGIN]))->getUser();
        self::assertSame(self::LOGIN, (int) $user->getLogin());
    }
}
