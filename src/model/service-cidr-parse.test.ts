import type { V1ServiceCIDR } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseServiceCIDR } from './service-cidr-parse.ts';

const cidr = (cidrs: unknown): V1ServiceCIDR => ({ metadata: { name: 'kubernetes' }, spec: { cidrs } } as V1ServiceCIDR);

describe('parseServiceCIDR', () => {
  it.each([
    [['10.96.0.0/16'], [{ cidr: '10.96.0.0/16', family: 'IPv4' }]],
    [['10.96.0.0/16', 'fd00:10:96::/112'], [{ cidr: '10.96.0.0/16', family: 'IPv4' }, { cidr: 'fd00:10:96::/112', family: 'IPv6' }]],
    // Normalised as net.ParseCIDR does: host bits masked, IPv6 in RFC 5952 form.
    [['10.96.1.7/16', 'FD00:10:96:0:0:0:0:0/112'], [{ cidr: '10.96.0.0/16', family: 'IPv4' }, { cidr: 'fd00:10:96::/112', family: 'IPv6' }]],
  ])('reads %j', (input, want) => {
    expect(parseServiceCIDR(cidr(input))).toEqual({ cidrs: want, errors: [] });
  });

  it.each([
    [undefined, 'spec.cidrs: no CIDR'],
    [[], 'spec.cidrs: no CIDR'],
    ['10.96.0.0/16', 'spec.cidrs: no CIDR'],
    [['10.96.0.0'], 'spec.cidrs[0]: invalid CIDR "10.96.0.0"'],
    [['10.96.0.0/16', 'banana/12'], 'spec.cidrs[1]: invalid CIDR "banana/12"'],
    [['10.96.0.0/33'], 'spec.cidrs[0]: invalid CIDR "10.96.0.0/33"'],
    [[42], 'spec.cidrs[0]: invalid CIDR 42'],
    [['10.96.0.0/16', '10.97.0.0/16'], 'spec.cidrs[1]: a second IPv4 CIDR'],
  ])('drops %j whole with one error naming the object and the reason', (input, reason) => {
    const got = parseServiceCIDR(cidr(input));
    expect(got.cidrs).toEqual([]);
    expect(got.errors.map((e) => e.message)).toEqual([`ServiceCIDR kubernetes: ${reason}`]);
    expect(got.errors[0]?.code).toBe('KP_ERR_OBJECT_INVALID');
  });
});
