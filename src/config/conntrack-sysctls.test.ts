import { describe, expect, it } from 'vitest';
import { conntrackMax, conntrackSysctls } from './conntrack-sysctls.ts';
import { defaultConfig } from './defaults.ts';

const base = defaultConfig().conntrack;

describe('conntrack sysctls', () => {
  it.each([
    ['scaled by CPUs', { maxPerCore: 32768, min: 131072 }, 8, 262144],
    ['floored at min', { maxPerCore: 32768, min: 131072 }, 2, 131072],
    ['maxPerCore 0 leaves the limit alone', { maxPerCore: 0, min: 131072 }, 8, 0],
  ])('conntrackMax: %s', (_name, c, cpus, want) => {
    expect(conntrackMax({ ...base, ...c }, cpus)).toBe(want);
  });

  it('upstream defaults: max, established 24h, close-wait 1h; UDP untouched', () => {
    expect(conntrackSysctls(base, 2)).toEqual([
      { key: 'net/netfilter/nf_conntrack_max', value: '131072' },
      { key: 'net/netfilter/nf_conntrack_tcp_timeout_established', value: '86400' },
      { key: 'net/netfilter/nf_conntrack_tcp_timeout_close_wait', value: '3600' },
    ]);
  });

  it('zero values leave the kernel alone; be-liberal and UDP timeouts when set', () => {
    const c = { ...base, maxPerCore: 0, tcpEstablishedTimeoutMs: 0, tcpCloseWaitTimeoutMs: 0, tcpBeLiberal: true, udpTimeoutMs: 30_000, udpStreamTimeoutMs: 120_000 };
    expect(conntrackSysctls(c, 4)).toEqual([
      { key: 'net/netfilter/nf_conntrack_tcp_be_liberal', value: '1' },
      { key: 'net/netfilter/nf_conntrack_udp_timeout', value: '30' },
      { key: 'net/netfilter/nf_conntrack_udp_timeout_stream', value: '120' },
    ]);
  });
});
