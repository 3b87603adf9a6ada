<?php

// No declare(strict_types=1) on purpose: this is how a Laravel app calls the client,
// and in this mode PHP converts arguments to a parameter's declared type before the
// function runs (250.75 to the int 250, 0.1 + 0.2 to the string "0.30000000000000004").

namespace Mt5Gateway\Tests\Unit;

use Mt5Gateway\Client\Money;
use PHPUnit\Framework\TestCase;

final class MoneyCoerciveModeTest extends TestCase
{
    /** @return iterable<string, array{\Closure(mixed): mixed}> */
    public static function entryPoints(): iterable
    {
        yield 'of' => [static fn (mixed $amount): mixed => Money::of($amount, 'USD')];
        yield 'toMoney' => [static fn (mixed $amount): mixed => Money::toMoney($amount, 'USD')];
        yield 'toDecimal' => [static fn (mixed $amount): mixed => Money::toDecimal($amount)];
        yield 'normalize' => [static fn (mixed $amount): mixed => Money::normalize($amount)];
        yield 'compare, first' => [static fn (mixed $amount): mixed => Money::compare($amount, '1')];
        yield 'compare, second' => [static fn (mixed $amount): mixed => Money::compare('1', $amount)];
        yield 'add' => [static fn (mixed $amount): mixed => Money::add('1', $amount)];
        yield 'sub' => [static fn (mixed $amount): mixed => Money::sub($amount, '1')];
    }

    /** @return iterable<string, array{mixed, string}> */
    public static function notAmounts(): iterable
    {
        yield 'a float with cents' => [250.75, 'never floats: got the float 250.75'];
        yield 'a float sum' => [0.1 + 0.2, 'never floats'];
        yield 'a whole float' => [100.0, 'never floats'];
        yield 'true' => [true, 'got bool'];
        yield 'null' => [null, 'got null'];
    }

    /**
     * Every entry point refuses every non-amount, whatever the caller's typing mode.
     *
     * @dataProvider entryPoints
     */
    public function testEveryEntryPointRefusesFloatsAndOtherNonAmounts(\Closure $call): void
    {
        foreach (self::notAmounts() as $case => [$value, $message]) {
            try {
                $call($value);
                self::fail("{$case} was accepted");
            } catch (\InvalidArgumentException $e) {
                self::assertStringContainsString($message, $e->getMessage(), $case);
            }
        }
    }

    public function testTheDepositsOfTheBugReportAreRefusedNotShrunk(): void
    {
        // Before: units 250 (a smaller deposit) and units 0 (no deposit at all).
        foreach ([250.75, 0.1 + 0.2] as $amount) {
            try {
                $money = Money::of($amount, 'USD');
                self::fail('deposited ' . Money::fromMoney($money) . " for {$amount}");
            } catch (\InvalidArgumentException $e) {
                self::assertStringContainsString('pass a string such as "250.75"', $e->getMessage());
            }
        }
    }

    public function testStringsAndIntsStillWork(): void
    {
        $money = Money::of('250.75', 'USD');
        self::assertSame(250, (int) $money->getUnits());
        self::assertSame(750_000_000, $money->getNanos());
        self::assertSame('-3', Money::fromMoney(Money::of(-3, 'EUR')));
        self::assertSame('1500', Money::toDecimal(1500)->getValue());
        self::assertSame('0.3', Money::add('0.1', '0.2'));
        self::assertSame(1, Money::compare(2, '1.99'));
        self::assertSame('7', Money::sub(10, 3));
    }
}
