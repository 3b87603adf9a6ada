<?php

declare(strict_types=1);

namespace Mt5Gateway\Client;

use Google\Protobuf\Internal\Message;
use Grpc\BaseStub;
use Grpc\ServerStreamingCall;

/**
 * Wraps one generated client: `$gateway->users()->GetUser($request)` returns the
 * response message or throws a typed GatewayException. For every unary call it adds the
 * factory's metadata and default deadline and fills an empty `request_id` of a mutating
 * request with a UUID4 *on the request object*, so retrying the same object repeats the
 * idempotency key. Stream methods (`Stream*`) return the \Grpc\ServerStreamingCall.
 *
 * Arguments: ($request, array $metadata = [], array $options = []) as in the stubs.
 */
final class Service
{
    public function __construct(
        private readonly BaseStub $stub,
        private readonly ClientFactory $factory,
    ) {
    }

    /** The generated client, for calls that need the raw \Grpc\UnaryCall. */
    public function stub(): BaseStub
    {
        return $this->stub;
    }

    /**
     * @param array<int, mixed> $arguments
     */
    public function __call(string $method, array $arguments): mixed
    {
        $request = $arguments[0] ?? null;
        if (!$request instanceof Message) {
            throw new \InvalidArgumentException("{$method}() expects a request message");
        }
        /** @var array<string, string|list<string>> $metadata */
        $metadata = $arguments[1] ?? [];
        /** @var array<string, mixed> $options */
        $options = $arguments[2] ?? [];
        if (!method_exists($this->stub, $method)) {
            throw new \BadMethodCallException(get_class($this->stub) . " has no RPC {$method}");
        }
        if (str_starts_with($method, 'Stream')) {
            // Live streams get no default deadline; the caller decides how long to read.
            return $this->stub->$method($request, $this->factory->metadata($metadata), $options);
        }
        self::ensureRequestId($request);
        $call = $this->stub->$method($request, $this->factory->metadata($metadata), $options + $this->factory->callOptions());
        if ($call instanceof ServerStreamingCall) {
            return $call;
        }
        [$response, $status] = $call->wait();
        StatusDecoder::throwIfError($status);
        return $response;
    }

    /** Gives a mutating request (one with a request_id field) a UUID4 if it has none. */
    public static function ensureRequestId(Message $request): void
    {
        if (method_exists($request, 'getRequestId') && $request->getRequestId() === '') {
            $request->setRequestId(Uuid::v4());
        }
    }
}
