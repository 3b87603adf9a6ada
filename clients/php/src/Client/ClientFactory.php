<?php

declare(strict_types=1);

namespace Mt5Gateway\Client;

use Grpc\BaseStub;
use Grpc\Channel;
use Grpc\ChannelCredentials;

/**
 * Builds the channel and the generated stubs from one configuration: target, TLS or
 * plaintext, API key and extra metadata, default deadline, keepalive.
 *
 * One channel is shared by every stub of a factory. ext-grpc additionally keeps channels
 * persistent per PHP process, keyed by target and options, so under PHP-FPM a new
 * factory per request (same config) reuses the worker's existing HTTP/2 connection
 * instead of reconnecting.
 */
final class ClientFactory
{
    public const API_KEY_HEADER = 'x-api-key';

    private ?Channel $channel = null;
    /** @var array<class-string, BaseStub> */
    private array $stubs = [];

    /**
     * @param array<string, string|list<string>> $metadata extra metadata on every call
     * @param array<string, int|string> $channelOptions extra grpc.* channel arguments
     */
    public function __construct(
        private readonly string $target,
        private readonly bool $tls = false,
        private readonly ?string $rootCertificates = null,
        #[\SensitiveParameter] private readonly ?string $apiKey = null,
        private readonly array $metadata = [],
        private readonly ?int $deadlineMs = 10_000,
        private readonly array $channelOptions = [],
        #[\SensitiveParameter] private readonly ?string $privateKey = null,
        private readonly ?string $certificateChain = null,
    ) {
        if ($target === '') {
            throw new \InvalidArgumentException('mt5gateway: target (host:port) is empty');
        }
        if (($privateKey === null) !== ($certificateChain === null)) {
            throw new \InvalidArgumentException('mutual TLS needs both private key and certificate chain');
        }
    }

    /**
     * From the Laravel config array (config/mt5gateway.php): target, tls, ca_file,
     * api_key, metadata, deadline_ms, keepalive_time_ms, keepalive_timeout_ms,
     * client_cert_file, client_key_file, channel_options.
     *
     * @param array<string, mixed> $config
     */
    public static function fromConfig(array $config): self
    {
        $read = static function (?string $path): ?string {
            if ($path === null || $path === '') {
                return null;
            }
            $data = @file_get_contents($path);
            if ($data === false) {
                throw new \InvalidArgumentException("mt5gateway: cannot read {$path}");
            }
            return $data;
        };
        $options = [
            'grpc.keepalive_time_ms' => (int) ($config['keepalive_time_ms'] ?? 30_000),
            'grpc.keepalive_timeout_ms' => (int) ($config['keepalive_timeout_ms'] ?? 10_000),
        ] + (array) ($config['channel_options'] ?? []);
        // A present null (MT5GW_DEADLINE_MS=null, which Laravel's env() turns into null)
        // or '' means no deadline; only a missing key takes the default.
        $deadline = array_key_exists('deadline_ms', $config) ? $config['deadline_ms'] : 10_000;
        return new self(
            target: (string) ($config['target'] ?? ''),
            tls: filter_var($config['tls'] ?? false, FILTER_VALIDATE_BOOL),
            rootCertificates: $read($config['ca_file'] ?? null),
            apiKey: ($config['api_key'] ?? null) ?: null,
            metadata: (array) ($config['metadata'] ?? []),
            deadlineMs: $deadline === null || $deadline === '' ? null : (int) $deadline,
            channelOptions: $options,
            privateKey: $read($config['client_key_file'] ?? null),
            certificateChain: $read($config['client_cert_file'] ?? null),
        );
    }

    public function target(): string
    {
        return $this->target;
    }

    public function credentials(): ?ChannelCredentials
    {
        if (!$this->tls) {
            return ChannelCredentials::createInsecure();
        }
        return ChannelCredentials::createSsl($this->rootCertificates, $this->privateKey, $this->certificateChain);
    }

    /** @return array<string, mixed> */
    public function channelOptions(): array
    {
        return ['credentials' => $this->credentials()] + $this->channelOptions;
    }

    public function channel(): Channel
    {
        return $this->channel ??= new Channel($this->target, $this->channelOptions());
    }

    /**
     * Call metadata: the API key, the configured pairs, then $extra.
     *
     * @param array<string, string|list<string>> $extra
     * @return array<string, list<string>>
     */
    public function metadata(array $extra = []): array
    {
        $result = [];
        foreach ([$this->metadata, $extra] as $pairs) {
            foreach ($pairs as $key => $value) {
                $key = strtolower((string) $key);
                foreach ((array) $value as $v) {
                    $result[$key][] = (string) $v;
                }
            }
        }
        if ($this->apiKey !== null) {
            $result[self::API_KEY_HEADER] = [$this->apiKey];
        }
        return $result;
    }

    /**
     * Options for a unary call: the default deadline ('timeout' is in microseconds).
     *
     * @return array<string, int>
     */
    public function callOptions(?int $deadlineMs = null): array
    {
        $ms = $deadlineMs ?? $this->deadlineMs;
        return $ms === null ? [] : ['timeout' => $ms * 1000];
    }

    /**
     * A generated client (e.g. \Mt5Gateway\V1\UserServiceClient) on the shared channel.
     *
     * @template T of BaseStub
     * @param class-string<T> $class
     * @return T
     */
    public function stub(string $class): BaseStub
    {
        /** @var T */
        return $this->stubs[$class] ??= new $class($this->target, $this->channelOptions(), $this->channel());
    }

    public function gateway(): Gateway
    {
        return new Gateway($this);
    }

    public function close(): void
    {
        $this->channel?->close();
        $this->channel = null;
        $this->stubs = [];
    }
}
