import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../model/logger.ts';
import { BRIDGE_NF_CALL_IPTABLES, ROUTE_LOCALNET, createSysctl, prepareIptablesSysctls } from './sysctl.ts';

function recordingLogger(lines: { level: string; obj: unknown; msg: string }[]): Logger {
  const at =
    (level: string) =>
    (a: object | string, b?: string): void => {
      lines.push(typeof a === 'string' ? { level, obj: {}, msg: a } : { level, obj: a, msg: b ?? '' });
    };
  const log: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => log,
  };
  return log;
}

describe('sysctl', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kpt-sysctl-'));
    await mkdir(join(root, 'net/ipv4/conf/all'), { recursive: true });
    await mkdir(join(root, 'net/bridge'), { recursive: true });
    await writeFile(join(root, ROUTE_LOCALNET), '0\n');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes only when the value differs and logs the change', async () => {
    const lines: { level: string; obj: unknown; msg: string }[] = [];
    const s = createSysctl(recordingLogger(lines), root);
    expect(await s.get('net.ipv4.conf.all.route_localnet')).toBe('0');
    expect(await s.ensure(ROUTE_LOCALNET, '1')).toBe(true);
    expect(await s.ensure(ROUTE_LOCALNET, '1')).toBe(false);
    expect(await readFile(join(root, ROUTE_LOCALNET), 'utf8')).toBe('1\n');
    expect(lines).toEqual([{ level: 'info', obj: { sysctl: ROUTE_LOCALNET, old: '0', value: '1' }, msg: 'sysctl changed' }]);
    expect(await s.get('net/does/not/exist')).toBeNull();
  });

  it.each([
    [true, '0', '1', 1],
    [false, '1', '0', 0],
    [false, null, '0', 0],
  ] as const)('localhostNodePorts=%s bridge=%s: route_localnet %s, %i warnings', async (lnp, bridge, want, warns) => {
    if (bridge !== null) await writeFile(join(root, BRIDGE_NF_CALL_IPTABLES), `${bridge}\n`);
    const lines: { level: string; obj: unknown; msg: string }[] = [];
    const log = recordingLogger(lines);
    await prepareIptablesSysctls(createSysctl(log, root), log, lnp);
    expect((await readFile(join(root, ROUTE_LOCALNET), 'utf8')).trim()).toBe(want);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(warns);
  });
});
