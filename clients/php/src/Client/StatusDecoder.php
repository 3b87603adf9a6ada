<?php

declare(strict_types=1);

namespace Mt5Gateway\Client;

use Google\Rpc\BadRequest;
use Google\Rpc\ErrorInfo;
use Google\Rpc\RetryInfo;
use Google\Rpc\Status;
use Mt5Gateway\Client\Exception;
use Mt5Gateway\Client\Exception\GatewayException;

/**
 * Turns a failed call's status (the stdClass ext-grpc returns from ->wait() or
 * ->getStatus()) into a typed GatewayException, reading the google.rpc.Status that the
 * gateway puts in the `grpc-status-details-bin` trailer: ErrorInfo (reason, retcode),
 * BadRequest (field violations) and RetryInfo (retry delay).
 */
final class StatusDecoder
{
    public const DOMAIN = 'mt5gateway';
    public const DETAILS_KEY = 'grpc-status-details-bin';

    /** @var array<string, class-string<GatewayException>> */
    private const BY_REASON = [
        'VALIDATION_FAILED' => Exception\ValidationFailedException::class,
        'MT5_INVALID_PARAMETERS' => Exception\Mt5InvalidParametersException::class,
        'INVALID_PAGE_TOKEN' => Exception\InvalidPageTokenException::class,
        'IDEMPOTENCY_CONFLICT' => Exception\IdempotencyConflictException::class,
        'CALLER_UNAUTHENTICATED' => Exception\UnauthenticatedException::class,
        'MT5_PERMISSION_DENIED' => Exception\PermissionDeniedException::class,
        'MT5_NOT_FOUND' => Exception\NotFoundException::class,
        'SERVER_NOT_FOUND' => Exception\ServerNotFoundException::class,
        'MT5_DUPLICATE' => Exception\AlreadyExistsException::class,
        'MT5_REJECTED' => Exception\RejectedException::class,
        'MT5_NO_MONEY' => Exception\NoMoneyException::class,
        'REQUEST_IN_PROGRESS' => Exception\RequestInProgressException::class,
        'MT5_RATE_LIMITED' => Exception\RateLimitedException::class,
        'MT5_UNAVAILABLE' => Exception\UnavailableException::class,
        'POOL_EXHAUSTED' => Exception\PoolExhaustedException::class,
        'MT5_AUTH_FAILED' => Exception\Mt5AuthFailedException::class,
        'GATEWAY_DRAINING' => Exception\GatewayDrainingException::class,
        'STATE_STORE_UNAVAILABLE' => Exception\StateStoreUnavailableException::class,
        'MT5_OUTCOME_UNKNOWN' => Exception\OutcomeUnknownException::class,
        'MT5_ERROR' => Exception\Mt5ErrorException::class,
        'INTERNAL_ERROR' => Exception\InternalException::class,
    ];

    // An unknown reason is treated like the generic error of its code (error_reason.proto).
    /** @var array<int, class-string<GatewayException>> */
    private const BY_CODE = [
        1 => Exception\CancelledException::class,
        2 => Exception\Mt5ErrorException::class,
        3 => Exception\InvalidArgumentException::class,
        4 => Exception\DeadlineExceededException::class,
        5 => Exception\NotFoundException::class,
        6 => Exception\AlreadyExistsException::class,
        7 => Exception\PermissionDeniedException::class,
        8 => Exception\RateLimitedException::class,
        9 => Exception\FailedPreconditionException::class,
        10 => Exception\AbortedException::class,
        11 => Exception\InvalidArgumentException::class,
        12 => Exception\UnimplementedException::class,
        13 => Exception\InternalException::class,
        14 => Exception\UnavailableException::class,
        16 => Exception\UnauthenticatedException::class,
    ];

    private const TYPE_PREFIX = 'type.googleapis.com/';

    /**
     * @param object $status ext-grpc status: ->code, ->details, ->metadata (trailers)
     */
    public static function decode(object $status): GatewayException
    {
        $code = (int) ($status->code ?? 2);
        $message = (string) ($status->details ?? '');
        /** @var array<string, list<string>> $trailers */
        $trailers = is_array($status->metadata ?? null) ? $status->metadata : [];
        $raw = $trailers[self::DETAILS_KEY][0] ?? null;
        if (is_string($raw) && $raw !== '') {
            try {
                $rich = new Status();
                $rich->mergeFromString($raw);
                return self::fromRpcStatus($rich, $code, $message);
            } catch (\Exception) {
                // A corrupt trailer must not hide the real error: fall back to the code.
            }
        }
        $class = self::BY_CODE[$code] ?? GatewayException::class;
        return new $class($message, $code);
    }

    /**
     * Throws the decoded exception unless the status is OK.
     *
     * @param object $status ext-grpc status
     */
    public static function throwIfError(object $status): void
    {
        if ((int) ($status->code ?? 0) !== 0) {
            throw self::decode($status);
        }
    }

    public static function fromRpcStatus(Status $status, ?int $code = null, ?string $message = null): GatewayException
    {
        $code ??= $status->getCode();
        $message = $message !== null && $message !== '' ? $message : $status->getMessage();
        $info = null;
        $violations = [];
        $retryDelay = null;
        foreach ($status->getDetails() as $any) {
            /** @var \Google\Protobuf\Any $any */
            // Compare type URLs and parse the bytes ourselves: Any::unpack() needs the
            // descriptor pool initialised for google.rpc first.
            $type = $any->getTypeUrl();
            $name = str_starts_with($type, self::TYPE_PREFIX) ? substr($type, strlen(self::TYPE_PREFIX)) : $type;
            if ($name === 'google.rpc.ErrorInfo' && $info === null) {
                $info = new ErrorInfo();
                $info->mergeFromString($any->getValue());
            } elseif ($name === 'google.rpc.BadRequest') {
                $bad = new BadRequest();
                $bad->mergeFromString($any->getValue());
                foreach ($bad->getFieldViolations() as $v) {
                    $violations[] = new FieldViolation($v->getField(), $v->getDescription(), self::violationReason($v));
                }
            } elseif ($name === 'google.rpc.RetryInfo') {
                $retry = new RetryInfo();
                $retry->mergeFromString($any->getValue());
                $delay = $retry->getRetryDelay();
                if ($delay !== null) {
                    $retryDelay = $delay->getSeconds() + $delay->getNanos() / 1e9;
                }
            }
        }
        $reason = $info?->getReason() ?? '';
        $domain = $info?->getDomain() ?? '';
        $metadata = [];
        if ($info !== null) {
            foreach ($info->getMetadata() as $key => $value) {
                $metadata[(string) $key] = (string) $value;
            }
        }
        $byCode = self::BY_CODE[$code] ?? GatewayException::class;
        $class = $domain === self::DOMAIN ? (self::BY_REASON[$reason] ?? null) : null;
        // The reason refines the code's class; a reason contradicting the code (e.g.
        // INTERNAL_ERROR sent with UNIMPLEMENTED) must not turn it into another kind.
        if ($class === null || !is_a($class, $byCode, true)) {
            $class = $byCode;
        }
        return new $class($message, $code, $reason, $domain, $metadata, $violations, $retryDelay);
    }

    private static function violationReason(object $violation): string
    {
        // BadRequest.FieldViolation.reason is newer than some google/common-protos builds.
        return method_exists($violation, 'getReason') ? (string) $violation->getReason() : '';
    }
}
