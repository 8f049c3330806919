import { describe, expect, it } from 'vitest';
import { ipvsSysctls, kernelVersion } from './sysctls.ts';

const keys = (release: string, strictARP = false): string[] => ipvsSysctls({ kernelRelease: release, strictARP }).settings.map((s) => `${s.key}=${s.value}`);

describe('ipvsSysctls', () => {
  it.each([
    ['6.1.0-18-amd64', false, ['net/ipv4/vs/conntrack=1', 'net/ipv4/vs/expire_nodest_conn=1', 'net/ipv4/vs/expire_quiescent_template=1', 'net/ipv4/ip_forward=1']],
    ['5.4.0', false, ['net/ipv4/vs/conntrack=1', 'net/ipv4/vs/conn_reuse_mode=0', 'net/ipv4/vs/expire_nodest_conn=1', 'net/ipv4/vs/expire_quiescent_template=1', 'net/ipv4/ip_forward=1']],
    ['5.9.0', true, ['net/ipv4/vs/conntrack=1', 'net/ipv4/vs/expire_nodest_conn=1', 'net/ipv4/vs/expire_quiescent_template=1', 'net/ipv4/ip_forward=1', 'net/ipv4/conf/all/arp_ignore=1', 'net/ipv4/conf/all/arp_announce=2']],
  ] as const)('kernel %s strictARP=%s', (release, strict, want) => {
    expect(keys(release, strict)).toEqual(want);
  });
  it('warns on kernels before 4.1 instead of setting conn_reuse_mode', () => {
    const p = ipvsSysctls({ kernelRelease: '3.10.0-1160.el7', strictARP: false });
    expect(p.warning).toMatch(/older than 4.1/);
    expect(p.settings.some((s) => s.key.endsWith('conn_reuse_mode'))).toBe(false);
  });
  it.each([['6.18.44-fc', [6, 18]], ['4.1', [4, 1]], ['garbage', [0, 0]]] as const)('kernelVersion(%s)', (r, v) => {
    expect(kernelVersion(r)).toEqual(v);
  });
});
