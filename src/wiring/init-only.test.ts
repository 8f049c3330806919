// Against a temporary /proc/sys stand-in: never the machine's own sysctls. The ipvs mode's part
// needs IPVS in the kernel (the development kernel has none), so it is not exercised here.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../config/defaults.ts';
import type { ProxyConfig } from '../config/types.ts';
import { recordingLogger } from '../sync/testing/recorders.ts';
import { createSysctl } from '../system/sysctl.ts';
import { runInitOnly } from './init-only.ts';

let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

function fakeProc(): string {
  root = mkdtempSync(join(tmpdir(), 'kpt-init-only-'));
  const files: Record<string, string> = {
    'net/netfilter/nf_conntrack_tcp_timeout_established': '432000',
    'net/netfilter/nf_conntrack_tcp_timeout_close_wait': '60',
    'net/netfilter/nf_conntrack_max': '65536',
    'net/ipv4/conf/all/route_localnet': '0',
  };
  for (const [k, v] of Object.entries(files)) {
    mkdirSync(join(root, k, '..'), { recursive: true });
    writeFileSync(join(root, k), `${v}\n`);
  }
  return root;
}

const read = (key: string): string => readFileSync(join(root, key), 'utf8').trim();

describe('runInitOnly', () => {
  it.each<[string, Partial<ProxyConfig>, string]>([
    ['iptables: conntrack and route_localnet for localhost NodePorts', {}, '1'],
    ['iptables without localhost NodePorts leaves route_localnet', { iptables: { ...defaultConfig().iptables, localhostNodePorts: false } }, '0'],
    ['userspace: conntrack only', { mode: 'userspace' }, '0'],
  ])('%s', async (_label, patch, routeLocalnet) => {
    const dir = fakeProc();
    const log = recordingLogger();
    const opened: string[] = [];
    await runInitOnly({
      config: { ...defaultConfig(), ...patch }, families: ['IPv4', 'IPv6'], sysctl: createSysctl(log, dir), logger: log, numCPU: 4,
      openIpvs: () => {
        opened.push('ipvs');
        throw new Error('not in this mode');
      },
    });
    expect(read('net/netfilter/nf_conntrack_tcp_timeout_established')).toBe('86400');
    expect(read('net/netfilter/nf_conntrack_tcp_timeout_close_wait')).toBe('3600');
    expect(read('net/netfilter/nf_conntrack_max')).toBe('131072');
    expect(read('net/ipv4/conf/all/route_localnet')).toBe(routeLocalnet);
    expect(opened).toEqual([]);
    expect(log.entries.at(-1)?.msg).toBe('System initialized and --init-only specified');
  });
});
