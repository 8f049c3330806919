import { describe, expect, it } from 'vitest';
import { acceptsPlainText, unixDate, uptime } from './zpages.ts';

describe('acceptsPlainText (httputil.AcceptableMediaType, plus an absent header)', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['*/*', true],
    ['text/plain', true],
    ['text/*', true],
    ['text/plain; charset=utf-8', true],
    ['text/plain;charset=UTF-8', true],
    ['application/json, text/plain;q=0.5', true],
    ['application/json', false],
    ['application/json;v=v1beta1;g=config.k8s.io;as=Statusz', false],
    ['text/plain; charset=latin1', false],
    ['text/html', false],
  ])('%s → %s', (accept, ok) => {
    expect(acceptsPlainText(accept)).toBe(ok);
  });
});

describe('Go time formats', () => {
  it.each([
    [Date.UTC(2024, 9, 16, 21, 3, 43), 'Wed Oct 16 21:03:43 UTC 2024'],
    [Date.UTC(2026, 0, 2, 3, 4, 5), 'Fri Jan  2 03:04:05 UTC 2026'],
  ])('UnixDate %i', (ms, text) => {
    expect(unixDate(ms)).toBe(text);
  });
  it.each([
    [0, '0 hr 00 min 00 sec'],
    [16_999, '0 hr 00 min 16 sec'],
    [90_061_000, '25 hr 01 min 01 sec'],
  ])('uptime %i', (ms, text) => {
    expect(uptime(ms)).toBe(text);
  });
});
