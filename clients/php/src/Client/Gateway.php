<?php

declare(strict_types=1);

namespace Mt5Gateway\Client;

use Mt5Gateway\V1\ConfigServiceClient;
use Mt5Gateway\V1\QuoteServiceClient;
use Mt5Gateway\V1\ServerServiceClient;
use Mt5Gateway\V1\StreamQuotesRequest;
use Mt5Gateway\V1\TradeServiceClient;
use Mt5Gateway\V1\UserServiceClient;

/**
 * The five services, each as a Service wrapper (typed errors, deadline, request_id):
 *
 *     $user = $gateway->users()->GetUser(new GetUserRequest(['login' => 1001]))->getUser();
 */
final class Gateway
{
    public function __construct(private readonly ClientFactory $factory)
    {
    }

    public static function connect(string $target, ?string $apiKey = null, bool $tls = false, ?int $deadlineMs = 10_000): self
    {
        return new self(new ClientFactory($target, tls: $tls, apiKey: $apiKey, deadlineMs: $deadlineMs));
    }

    public function factory(): ClientFactory
    {
        return $this->factory;
    }

    public function users(): Service
    {
        return new Service($this->factory->stub(UserServiceClient::class), $this->factory);
    }

    public function trades(): Service
    {
        return new Service($this->factory->stub(TradeServiceClient::class), $this->factory);
    }

    public function config(): Service
    {
        return new Service($this->factory->stub(ConfigServiceClient::class), $this->factory);
    }

    public function quotes(): Service
    {
        return new Service($this->factory->stub(QuoteServiceClient::class), $this->factory);
    }

    public function servers(): Service
    {
        return new Service($this->factory->stub(ServerServiceClient::class), $this->factory);
    }

    /**
     * Quotes that re-open the stream on UNAVAILABLE; iterate with foreach. Run it in a
     * queue worker or artisan command, never in a web request: the read blocks.
     *
     * $deadlineMs bounds each opened stream (it then ends with DeadlineExceededException):
     * for jobs that read "for a while"; workers leave it null.
     *
     * @param array<string, string|list<string>> $metadata
     */
    public function streamQuotes(
        StreamQuotesRequest $request,
        ?int $maxReopens = null,
        bool $heartbeats = false,
        array $metadata = [],
        ?int $deadlineMs = null,
    ): QuoteStream {
        $stub = $this->factory->stub(QuoteServiceClient::class);
        $factory = $this->factory;
        $options = $deadlineMs === null ? [] : ['timeout' => $deadlineMs * 1000];
        return new QuoteStream(
            static fn (StreamQuotesRequest $r) => $stub->StreamQuotes($r, $factory->metadata($metadata), $options),
            $request,
            $maxReopens,
            $heartbeats,
        );
    }
}
