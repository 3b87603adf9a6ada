<?php

declare(strict_types=1);

namespace Mt5Gateway\Client;

use Google\Type\Decimal;
use Google\Type\Money as MoneyMessage;

/**
 * Exact money and decimal helpers. Amounts are decimal strings ("-250.5") or ints, never
 * floats: the gateway puts google.type.Decimal (a plain decimal string) and
 * google.type.Money (units + nanos) on the wire. Arithmetic helpers use bcmath.
 *
 * Every amount parameter is checked at run time, not by its declared type: a caller
 * without declare(strict_types=1) (a Laravel app) would otherwise have PHP convert
 * 250.75 to the int 250 or to the string "0.30000000000000004" before we see it.
 */
final class Money
{
    public const NANOS_PER_UNIT = 1_000_000_000;
    private const PATTERN = '/^([+-]?)(\d+)(?:\.(\d+))?$/';

    /** "1.10868" → Decimal(value: "1.10868"); int accepted; a float throws. */
    public static function toDecimal(mixed $value): Decimal
    {
        return new Decimal(['value' => self::normalize($value)]);
    }

    /** An unset Decimal is "0" (the gateway fills every field it returns). */
    public static function fromDecimal(?Decimal $decimal): string
    {
        if ($decimal === null || $decimal->getValue() === '') {
            return '0';
        }
        return self::normalize($decimal->getValue());
    }

    /**
     * money("-250.5", "USD") → units -250, nanos -500000000. A float, more than 9 decimal
     * places or an amount beyond int64 units throws \InvalidArgumentException: nothing is
     * rounded.
     */
    public static function toMoney(mixed $amount, string $currencyCode): MoneyMessage
    {
        [$negative, $int, $frac] = self::parse($amount);
        if (strlen($frac) > 9) {
            throw new \InvalidArgumentException("{$amount} has more than 9 decimal places");
        }
        if (strlen($int) > 19 || (strlen($int) === 19 && strcmp($int, '9223372036854775807') > 0)) {
            throw new \InvalidArgumentException("{$amount} does not fit google.type.Money units (int64)");
        }
        $units = (int) $int;
        $nanos = (int) str_pad($frac, 9, '0');
        $sign = $negative ? -1 : 1;
        return new MoneyMessage([
            'currency_code' => $currencyCode,
            'units' => $sign * $units,
            'nanos' => $sign * $nanos,
        ]);
    }

    /** Shorthand for toMoney(). */
    public static function of(mixed $amount, string $currencyCode): MoneyMessage
    {
        return self::toMoney($amount, $currencyCode);
    }

    /** The amount as a plain decimal string ("-250.5"); the currency stays on the message. */
    public static function fromMoney(?MoneyMessage $money): string
    {
        if ($money === null) {
            return '0';
        }
        $units = (int) $money->getUnits();
        $nanos = $money->getNanos();
        if (abs($nanos) >= self::NANOS_PER_UNIT || ($units > 0 && $nanos < 0) || ($units < 0 && $nanos > 0)) {
            throw new \InvalidArgumentException("invalid google.type.Money: units={$units} nanos={$nanos}");
        }
        $negative = $units < 0 || $nanos < 0;
        $int = ltrim((string) $units, '-');
        $frac = rtrim(str_pad((string) abs($nanos), 9, '0', STR_PAD_LEFT), '0');
        return self::normalize(($negative ? '-' : '') . $int . ($frac !== '' ? '.' . $frac : ''));
    }

    /** -1, 0 or 1, comparing as numbers ("1.50" equals "1.5"). */
    public static function compare(mixed $a, mixed $b): int
    {
        [$a, $b] = [self::normalize($a), self::normalize($b)];
        return bccomp($a, $b, self::scale($a, $b));
    }

    public static function add(mixed $a, mixed $b): string
    {
        [$a, $b] = [self::normalize($a), self::normalize($b)];
        return self::normalize(bcadd($a, $b, self::scale($a, $b)));
    }

    public static function sub(mixed $a, mixed $b): string
    {
        [$a, $b] = [self::normalize($a), self::normalize($b)];
        return self::normalize(bcsub($a, $b, self::scale($a, $b)));
    }

    /** Canonical plain form: no "+", no leading zeros, no trailing fractional zeros, no "-0". */
    public static function normalize(mixed $value): string
    {
        [$negative, $int, $frac] = self::parse($value);
        $int = ltrim($int, '0');
        $int = $int === '' ? '0' : $int;
        $frac = rtrim($frac, '0');
        $text = $int . ($frac !== '' ? '.' . $frac : '');
        return ($negative && $text !== '0') ? '-' . $text : $text;
    }

    /**
     * The one gate every amount passes: a decimal string or an int, never a float.
     *
     * @return array{bool, string, string}
     */
    private static function parse(mixed $value): array
    {
        if (is_float($value)) {
            throw new \InvalidArgumentException(
                'amounts are decimal strings, never floats: got the float ' . var_export($value, true)
                . ' (a float cannot hold most decimal amounts exactly); pass a string such as "250.75"'
            );
        }
        if (is_int($value)) {
            $value = (string) $value;
        }
        if (!is_string($value)) {
            throw new \InvalidArgumentException('expected a decimal string or an int, got ' . get_debug_type($value));
        }
        if (!preg_match(self::PATTERN, trim($value), $m)) {
            throw new \InvalidArgumentException("not a plain decimal number: '{$value}'");
        }
        return [$m[1] === '-', $m[2], $m[3] ?? ''];
    }

    private static function scale(string ...$values): int
    {
        $scale = 0;
        foreach ($values as $value) {
            $dot = strpos($value, '.');
            if ($dot !== false) {
                $scale = max($scale, strlen($value) - $dot - 1);
            }
        }
        return $scale;
    }
}
