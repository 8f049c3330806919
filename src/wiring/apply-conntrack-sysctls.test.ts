// Against a temporary /proc/sys stand-in: never the machine's own sysctls.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../config/defaults.ts';
import { recordingLogger } from '../sync/testing/recorders.ts';
import { createSysctl } from '../system/sysctl.ts';
import { applyConntrackSysctls } from './apply-conntrack-sysctls.ts';

let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

function fakeProc(values: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'kpt-sysctl-'));
  mkdirSync(join(root, 'net/netfilter'), { recursive: true });
  for (const [k, v] of Object.entries(values)) writeFileSync(join(root, 'net/netfilter', k), `${v}\n`);
  return root;
}

describe('applyConntrackSysctls', () => {
  it('sets the timeouts, and carries on when nf_conntrack_max cannot be written', async () => {
    const dir = fakeProc({ nf_conntrack_tcp_timeout_established: '432000', nf_conntrack_tcp_timeout_close_wait: '60' });
    // Root writes even 0444 files, so an unwritable key is simulated by a directory in its place.
    mkdirSync(join(dir, 'net/netfilter/nf_conntrack_max'));
    const log = recordingLogger();
    const failed = await applyConntrackSysctls(defaultConfig(), createSysctl(log, dir), log, 2);
    expect(readFileSync(join(dir, 'net/netfilter/nf_conntrack_tcp_timeout_established'), 'utf8')).toBe('86400\n');
    expect(readFileSync(join(dir, 'net/netfilter/nf_conntrack_tcp_timeout_close_wait'), 'utf8')).toBe('3600\n');
    expect(failed).toEqual(['net/netfilter/nf_conntrack_max']);
    expect(log.entries.filter((e) => e.msg === 'sysctl changed')).toHaveLength(2);
  });

  it('reports absent keys without failing', async () => {
    const dir = fakeProc({});
    const log = recordingLogger();
    const failed = await applyConntrackSysctls(defaultConfig(), createSysctl(log, dir), log, 2);
    expect(failed).toHaveLength(3);
    expect(log.entries.some((e) => e.msg.startsWith('conntrack sysctl absent'))).toBe(true);
  });
});
