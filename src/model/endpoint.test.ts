import { describe, expect, it } from 'vitest';
import { compareEndpoints, endpointString } from './endpoint.ts';
import { endpoint } from './testing/fixtures.ts';
import type { Endpoint } from './types.ts';

const ep = (ip: string, port: number): Endpoint => endpoint(ip, port);

describe('endpointString', () => {
  it.each([
    ['10.0.0.1', 80, '10.0.0.1:80'],
    ['fd00::1', 443, '[fd00::1]:443'],
  ])('%s %d', (ip, port, want) => {
    expect(endpointString(ep(ip, port))).toBe(want);
  });

  it('sorts as upstream byEndpoint (string order)', () => {
    const list = [ep('10.0.0.9', 80), ep('10.0.0.10', 80), ep('10.0.0.1', 8080), ep('10.0.0.1', 80)];
    expect(list.sort(compareEndpoints).map(endpointString)).toEqual(['10.0.0.10:80', '10.0.0.1:80', '10.0.0.1:8080', '10.0.0.9:80']);
  });
});
