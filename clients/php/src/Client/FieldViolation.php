<?php

declare(strict_types=1);

namespace Mt5Gateway\Client;

/** One google.rpc.BadRequest field violation; $field is a proto path ("amount.units"). */
final class FieldViolation
{
    public function __construct(
        public readonly string $field,
        public readonly string $description,
        public readonly string $reason = '',
    ) {
    }
}
