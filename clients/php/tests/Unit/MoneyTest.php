<?php

declare(strict_types=1);

namespace Mt5Gateway\Tests\Unit;

use Google\Type\Decimal;
use Google\Type\Money as MoneyMessage;
use Mt5Gateway\Client\Money;
use PHPUnit\Framework\TestCase;

final class MoneyTest extends TestCase
{
    /** @return iterable<string, array{string, int, int, string}> */
    public static function amounts(): iterable
    {
        yield 'negative half' => ['-250.5', -250, -500_000_000, '-250.5'];
        yield 'trailing zeros' => ['100.00', 100, 0, '100'];
        yield 'one nano' => ['0.000000001', 0, 1, '0.000000001'];
        yield 'negative below one' => ['-0.25', 0, -250_000_000, '-0.25'];
        yield 'plus sign' => ['+7', 7, 0, '7'];
        yield 'int64 max' => ['9223372036854775807.999999999', PHP_INT_MAX, 999_999_999, '9223372036854775807.999999999'];
    }

    /** @dataProvider amounts */
    public function testMoneyRoundTrip(string $text, int $units, int $nanos, string $back): void
    {
        $money = Money::toMoney($text, 'USD');
        self::assertSame('USD', $money->getCurrencyCode());
        self::assertSame($units, (int) $money->getUnits());
        self::assertSame($nanos, $money->getNanos());
        self::assertSame($back, Money::fromMoney($money));
    }

    public function testRandomRoundTrips(): void
    {
        mt_srand(7);
        for ($i = 0; $i < 500; $i++) {
            $text = (mt_rand(0, 1) ? '-' : '') . mt_rand(0, PHP_INT_MAX) . '.' . str_pad((string) mt_rand(0, 999_999_999), 9, '0', STR_PAD_LEFT);
            self::assertSame(Money::normalize($text), Money::fromMoney(Money::of($text, 'EUR')));
            self::assertSame(Money::normalize($text), Money::fromDecimal(Money::toDecimal($text)));
        }
    }

    public function testDecimal(): void
    {
        self::assertSame('1.10868', Money::toDecimal('1.10868')->getValue());
        self::assertSame('1500', Money::toDecimal(1500)->getValue());
        self::assertSame('0', Money::toDecimal('-0.000')->getValue());
        self::assertSame('0', Money::fromDecimal(null));
        self::assertSame('0', Money::fromDecimal(new Decimal()));
        self::assertSame('12.5', Money::fromDecimal(new Decimal(['value' => '012.500'])));
    }

    public function testArithmeticIsExact(): void
    {
        self::assertSame(0, Money::compare('1.50', '1.5'));
        self::assertSame(-1, Money::compare('0.1', '0.10000000001'));
        self::assertSame('0.3', Money::add('0.1', '0.2'));
        self::assertSame('-0.05', Money::sub('100.05', '100.1'));
    }

    public function testTooPreciseIsRefused(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('9 decimal places');
        Money::toMoney('0.0000000001', 'USD');
    }

    public function testTooLargeIsRefused(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        Money::toMoney('9223372036854775808', 'USD');
    }

    /** @return iterable<array{string}> */
    public static function notPlain(): iterable
    {
        return [['1e3'], ['abc'], [''], ['1.'], ['.5'], ['NaN'], ['1,5']];
    }

    /** @dataProvider notPlain */
    public function testNonPlainIsRefused(string $bad): void
    {
        $this->expectException(\InvalidArgumentException::class);
        Money::toDecimal($bad);
    }

    public function testInvalidMoneyMessage(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        Money::fromMoney(new MoneyMessage(['units' => 1, 'nanos' => -1]));
    }
}
