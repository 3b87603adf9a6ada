<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Integration;

use Google\Protobuf\Timestamp;
use Mt5Gateway\Client\ClientFactory;
use Mt5Gateway\Client\Exception\DeadlineExceededException;
use Mt5Gateway\Client\Exception\NotFoundException;
use Mt5Gateway\Client\Exception\ValidationFailedException;
use Mt5Gateway\Client\Gateway;
use Mt5Gateway\Client\Money;
use Mt5Gateway\Client\StatusDecoder;
use Mt5Gateway\V1\BalanceOperationType;
use Mt5Gateway\V1\CreateBalanceOperationRequest;
use Mt5Gateway\V1\CreateUserRequest;
use Mt5Gateway\V1\GetAccountRequest;
use Mt5Gateway\V1\GetUserRequest;
use Mt5Gateway\V1\ListDealsRequest;
use Mt5Gateway\V1\ListPositionsRequest;
use Mt5Gateway\V1\StreamQuotesRequest;
use Mt5Gateway\V1\User;
use Mt5Gateway\V1\UserServiceClient;
use PHPUnit\Framework\TestCase;

/**
 * Through the generated stubs and real ext-grpc against a running gateway (mt5sim
 * upstream). scripts/test-php starts one and sets MT5GW_TEST_TARGET (and
 * MT5GW_TEST_SIM_URL for the simulator's /_sim/stats when it is plain HTTP).
 */
final class GatewayTest extends TestCase
{
    private const RICH = 100041;      // seeded account with positions and history (seed 1)
    private const DEPOSITOR = 100000;

    private Gateway $gw;

    protected function setUp(): void
    {
        $target = getenv('MT5GW_TEST_TARGET');
        if ($target === false || $target === '') {
            self::markTestSkipped('MT5GW_TEST_TARGET not set: run scripts/test-php');
        }
        if (!extension_loaded('grpc')) {
            self::fail('ext-grpc is not loaded: run with php -d extension=grpc.so (scripts/test-php)');
        }
        $this->gw = new Gateway(new ClientFactory($target, deadlineMs: 10_000));
    }

    private static function deposit(string $amount, int $login = self::DEPOSITOR): CreateBalanceOperationRequest
    {
        return new CreateBalanceOperationRequest([
            'login' => $login,
            'type' => BalanceOperationType::BALANCE_OPERATION_TYPE_BALANCE,
            'amount' => Money::of($amount, 'USD'),
            'comment' => 'php test',
        ]);
    }

    private function balance(int $login): string
    {
        // The user record: mt5sim answers user/account/get only for accounts with open
        // trades or activity since start (as MT5 does).
        return Money::fromMoney($this->gw->users()->GetUser(new GetUserRequest(['login' => $login]))->getUser()->getBalance());
    }

    private static function balanceOperations(): ?int
    {
        $url = getenv('MT5GW_TEST_SIM_URL');
        if ($url === false || $url === '') {
            return null;
        }
        // The demo simulator's certificate is self-signed; this is a loopback test helper.
        $context = stream_context_create(['ssl' => ['verify_peer' => false, 'verify_peer_name' => false]]);
        $body = file_get_contents($url . '/_sim/stats', false, $context);
        self::assertIsString($body, "cannot read {$url}/_sim/stats");
        $stats = json_decode($body, true, flags: JSON_THROW_ON_ERROR);
        return (int) $stats['balance_operations']['count'];
    }

    /** @return array{Timestamp, Timestamp} */
    private static function allTime(): array
    {
        return [new Timestamp(['seconds' => 1]), new Timestamp(['seconds' => time() + 86400])];
    }

    public function testCreateUserThroughTheRawGeneratedStub(): void
    {
        $factory = $this->gw->factory();
        /** @var UserServiceClient $stub */
        $stub = $factory->stub(UserServiceClient::class);
        $request = new CreateUserRequest([
            'request_id' => \Mt5Gateway\Client\Uuid::v4(),
            'user' => new User(['group' => 'demo\\forex', 'name' => 'PHP Client', 'leverage' => 100]),
            'main_password' => 'Main#Pass1',
            'investor_password' => 'Invest#Pass1',
        ]);
        [$reply, $status] = $stub->CreateUser($request, $factory->metadata(), $factory->callOptions())->wait();
        StatusDecoder::throwIfError($status);
        $login = (int) $reply->getUser()->getLogin();
        self::assertGreaterThanOrEqual(100000, $login);

        $user = $this->gw->users()->GetUser(new GetUserRequest(['login' => $login]))->getUser();
        self::assertSame('PHP Client', $user->getName());
        self::assertSame('demo\\forex', $user->getGroup());
    }

    public function testDepositWithRequestIdIsAppliedOnce(): void
    {
        $before = $this->balance(self::DEPOSITOR);
        $opsBefore = self::balanceOperations();
        $request = self::deposit('250.75');
        $first = $this->gw->trades()->CreateBalanceOperation($request);
        self::assertNotSame('', $request->getRequestId()); // filled by Service
        $again = $this->gw->trades()->CreateBalanceOperation($request);
        self::assertFalse($first->getReplayed());
        self::assertTrue($again->getReplayed());
        self::assertSame(
            $first->getBalanceOperation()->serializeToString(),
            $again->getBalanceOperation()->serializeToString(),
        );
        self::assertSame(Money::add($before, '250.75'), $this->balance(self::DEPOSITOR));
        if ($opsBefore !== null) {
            self::assertSame($opsBefore + 1, self::balanceOperations());
        }
    }

    public function testAccountPositionsAndDealsPaged(): void
    {
        $account = $this->gw->users()->GetAccount(new GetAccountRequest(['login' => self::RICH]))->getAccount();
        self::assertSame(self::RICH, (int) $account->getLogin());
        self::assertSame('USD', $account->getBalance()->getCurrencyCode());

        $whole = $this->gw->trades()->ListPositions(new ListPositionsRequest(['login' => self::RICH, 'page_size' => 100]));
        $all = array_map(static fn ($p) => (int) $p->getTicket(), iterator_to_array($whole->getPositions()));
        self::assertGreaterThanOrEqual(2, count($all));
        $paged = [];
        $request = new ListPositionsRequest(['login' => self::RICH, 'page_size' => 1]);
        $pages = 0;
        do {
            $reply = $this->gw->trades()->ListPositions($request);
            $pages++;
            foreach ($reply->getPositions() as $p) {
                $paged[] = (int) $p->getTicket();
            }
            $request->setPageToken($reply->getNextPageToken());
        } while ($reply->getNextPageToken() !== '');
        self::assertSame($all, $paged);
        self::assertSame(count($all), $pages);

        [$start, $end] = self::allTime();
        $deals = $this->gw->trades()->ListDeals(new ListDealsRequest(['login' => self::RICH, 'start_time' => $start, 'end_time' => $end]));
        $allDeals = array_map(static fn ($d) => (int) $d->getTicket(), iterator_to_array($deals->getDeals()));
        self::assertGreaterThan(3, count($allDeals));
        $pagedDeals = [];
        $request = new ListDealsRequest(['login' => self::RICH, 'start_time' => $start, 'end_time' => $end, 'page_size' => 3]);
        do {
            $reply = $this->gw->trades()->ListDeals($request);
            foreach ($reply->getDeals() as $d) {
                $pagedDeals[] = (int) $d->getTicket();
            }
            $request->setPageToken($reply->getNextPageToken());
        } while ($reply->getNextPageToken() !== '');
        self::assertSame($allDeals, $pagedDeals);
    }

    public function testInvalidArgumentWithFieldViolations(): void
    {
        try {
            $this->gw->trades()->CreateBalanceOperation(self::deposit('1', login: 0));
            self::fail('expected ValidationFailedException');
        } catch (ValidationFailedException $e) {
            self::assertSame(\Grpc\STATUS_INVALID_ARGUMENT, $e->getStatusCode());
            self::assertSame('VALIDATION_FAILED', $e->getReason());
            self::assertSame(['login'], array_map(static fn ($v) => $v->field, $e->getFieldViolations()));
        }
    }

    public function testNotFound(): void
    {
        try {
            $this->gw->users()->GetUser(new GetUserRequest(['login' => 999999]));
            self::fail('expected NotFoundException');
        } catch (NotFoundException $e) {
            self::assertSame(\Grpc\STATUS_NOT_FOUND, $e->getStatusCode());
            self::assertSame('MT5_NOT_FOUND', $e->getReason());
            self::assertSame(13, $e->getRetcode());
        }
    }

    public function testStreamQuotes(): void
    {
        // Bounded: the snapshot comes at once, live ticks need a few seconds.
        $stream = $this->gw->streamQuotes(
            new StreamQuotesRequest(['symbols' => ['EURUSD', 'GBPUSD']]),
            maxReopens: 0,
            heartbeats: true, // every message, so sequence numbers must be contiguous
            deadlineMs: 15_000,
        );
        $sequences = [];
        $symbols = [];
        try {
            foreach ($stream as $message) {
                $sequences[] = (int) $message->getSequence();
                $quote = $message->getQuote();
                if ($quote !== null) {
                    $symbols[] = $quote->getSymbol();
                }
                if (count($symbols) === 5) {
                    $stream->cancel();
                }
            }
        } catch (DeadlineExceededException) {
            // read for the whole deadline: fine, the snapshot is checked below
        }
        $unique = array_values(array_unique($symbols));
        sort($unique);
        self::assertSame(['EURUSD', 'GBPUSD'], $unique);
        self::assertLessThanOrEqual(5, count($symbols));
        self::assertSame(range(1, count($sequences)), $sequences);
    }
}
