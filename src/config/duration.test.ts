import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../errors.ts';
import { formatGoDuration, formatGoDurationNs, parseGoDuration, parseGoDurationNs } from './duration.ts';

describe('parseGoDuration', () => {
  // Expected values from Go's time.ParseDuration tests (time/time_test.go parseDurationTests).
  it.each([
    ['0', 0],
    ['0s', 0],
    ['-0', 0],
    ['+0', 0],
    ['5s', 5_000],
    ['30s', 30_000],
    ['1478s', 1_478_000],
    ['-5s', -5_000],
    ['+5s', 5_000],
    ['5.6s', 5_600],
    ['5.s', 5_000],
    ['.5s', 500],
    ['1.004s', 1_004],
    ['300ms', 300],
    ['10ms', 10],
    ['1.5ms', 1.5],
    ['2us', 0.002],
    ['2µs', 0.002],
    ['2μs', 0.002],
    ['1500ns', 0.0015],
    ['3m', 180_000],
    ['2h22m', 8_520_000],
    ['1h2m3.5s', 3_723_500],
    ['15m0s', 900_000],
    ['24h0m0s', 86_400_000],
    ['3h30m', 12_600_000],
    ['10.5s4m', 250_500],
    ['-2m3.4s', -123_400],
    ['1h1m1s1ms1us1ns', 3_661_001.001001],
  ])('%s → %s ms', (text, ms) => {
    expect(parseGoDuration(text, 'x')).toBeCloseTo(ms, 9);
  });

  it.each([
    ['', /invalid duration/],
    ['3', /missing unit/],
    ['-', /invalid duration/],
    ['s', /invalid duration/],
    ['.', /invalid duration/],
    ['-.', /invalid duration/],
    ['.s', /invalid duration/],
    ['+.s', /invalid duration/],
    ['1d', /unknown unit "d"/],
    ['30 s', /unknown unit " s"/],
    ['1h-5m', /unknown unit "h-"/],
    ['3000000h', /out of range/],
  ])('%j is rejected', (text, reason) => {
    const r = parseGoDurationNs(text);
    expect(typeof r).toBe('string');
    expect(r).toMatch(reason);
  });

  it('throws a ConfigError naming the field path', () => {
    expect(() => parseGoDuration('10x', 'iptables.syncPeriod')).toThrow(ConfigError);
    expect(() => parseGoDuration('10x', 'iptables.syncPeriod')).toThrow(/^iptables\.syncPeriod: unknown unit "x"/);
  });
});

describe('formatGoDuration', () => {
  // Expected strings from Go's time.Duration.String tests (time/time_test.go durationTests).
  it.each([
    [0, '0s'],
    [1e-6, '1ns'],
    [0.0011, '1.1µs'],
    [2.2, '2.2ms'],
    [300, '300ms'],
    [1_000, '1s'],
    [3_300, '3.3s'],
    [30_000, '30s'],
    [60_000, '1m0s'],
    [90_000, '1m30s'],
    [260_500, '4m20.5s'],
    [900_000, '15m0s'],
    [3_600_000, '1h0m0s'],
    [5_430_001, '1h30m30.001s'],
    [86_400_000, '24h0m0s'],
    [-1_000, '-1s'],
  ])('%s ms → %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });

  it('matches Go for its extreme value', () => {
    expect(formatGoDurationNs((1n << 63n) - 1n)).toBe('2562047h47m16.854775807s');
  });

  it('round-trips any whole-nanosecond duration', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (ns) => {
        expect(parseGoDurationNs(formatGoDurationNs(ns))).toBe(ns);
      }),
    );
  });
});
