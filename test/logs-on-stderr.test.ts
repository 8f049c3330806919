// Issue 13, defect 5: the daemon logs on stderr, as kube-proxy (klog) does, in every mode and log
// format; stdout carries only what a command is asked to print. So `--dry-run` output pipes straight
// into iptables-restore --test (the IPv4 part) and ip6tables-restore --test (the IPv6 part), which
// fails on the first log line when logs share stdout.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_BIN, HEALTHZ, METRICS, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from './support/daemon.ts';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const EXAMPLE = fileURLToPath(new URL('../examples/dual-stack', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/manifests', import.meta.url));
const FORMATS = ['json', 'text'] as const;

/** A line one of our log formats would write: a pino JSON record, or `TIME LEVEL msg …`. */
const LOG_LINE = /^\{"level":\d+|^\d{4}-\d\d-\d\dT[\d:.]+Z (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) /;

function dryRunArgs(format: string, mode = 'iptables'): string[] {
  return [DAEMON_BIN, '--manifests', EXAMPLE, '--hostname-override', 'node-a', '--dry-run', '--proxy-mode', mode,
    '--cluster-cidr', '10.244.0.0/16,fd00:10:244::/56', '--logging-format', format];
}

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

describe('--dry-run: stdout is the payload, logs are on stderr', () => {
  it.each(FORMATS.flatMap((f) => [['iptables', f], ['ipvs', f]]))('%s mode, %s logs', (mode, format) => {
    const r = spawnSync(process.execPath, dryRunArgs(format, mode), { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const stdout = r.stdout.split('\n');
    expect(stdout.filter((l) => LOG_LINE.test(l))).toEqual([]);
    expect(stdout.length).toBeGreaterThan(10);
    // The node-IP lines are logged on every start: they are there, on stderr, in the chosen format.
    const logs = r.stderr.split('\n').filter((l) => l !== '');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.every((l) => LOG_LINE.test(l)), r.stderr).toBe(true);
    expect(r.stderr).toContain('node IPs');
    expect(logs[0]?.startsWith('{')).toBe(format === 'json');
  });
});

describeWith('--dry-run piped into iptables-restore --test', ['root', 'iptables'], () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('dry-pipe');
  });
  afterAll(async () => {
    if (ns !== '') await deleteNamespace(ns);
  });

  it.each(FORMATS)('both families restore cleanly (%s logs)', async (format) => {
    const cmd = dryRunArgs(format).map(quote).join(' ');
    const node = quote(process.execPath);
    // Exactly what an operator types; pipefail makes a failing dry-run fail the pipe as well.
    const script = [
      `${node} ${cmd} 2>/dev/null | sed '/^# IPv6 /,$d' | iptables-restore --test`,
      `${node} ${cmd} 2>/dev/null | sed -n '/^# IPv6 /,$p' | ip6tables-restore --test`,
    ].join(' && ');
    const r = await execIn(ns, 'bash', ['-o', 'pipefail', '-c', script]).then(
      () => 'ok',
      (err: unknown) => String(err),
    );
    expect(r).toBe('ok');
  });
});

describeWith('ipvs --dry-run: each family\'s sets and rules restore with that family\'s tools', ['root', 'iptables', 'ipset'], () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('dry-ipvs');
  });
  afterAll(async () => {
    if (ns !== '') await deleteNamespace(ns);
  });

  it.each([['IPv4', 'iptables-restore'], ['IPv6', 'ip6tables-restore']])('%s: the section headed %s', async (family, tool) => {
    const r = spawnSync(process.execPath, dryRunArgs('json', 'ipvs'), { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    // From this family's restore header to the next section header (or the end).
    const sections = r.stdout.split(/^(?=# IPv[46] )/m);
    const start = sections.findIndex((p) => p.startsWith(`# ${family} ${tool} --noflush`));
    expect(start, r.stdout).toBeGreaterThanOrEqual(0);
    const payload = sections[start] ?? '';
    expect(payload).toMatch(/^\*nat$/m);
    // The rules match the mode's ipsets: those go first, from their own section, as the daemon does.
    const sets = sections.find((p) => p.startsWith(`# ${family} ipset restore -exist`));
    expect(sets, r.stdout).toBeDefined();
    await execIn(ns, 'ipset', ['restore', '-exist'], sets);
    await execIn(ns, tool, ['--test'], payload);
  });
});

describeWith('the running daemon logs on stderr only', ['root', 'iptables'], () => {
  let ns = '';
  let daemon: Daemon | undefined;
  let restoreLock: (() => void) | undefined;
  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ns = await createNamespace('log-fd');
    // userspace proxies a family only where the node has an address of it.
    await execIn(ns, 'ip', ['addr', 'add', '192.0.2.10/32', 'dev', 'lo']);
  });
  afterAll(async () => {
    await daemon?.stop();
    if (ns !== '') await deleteNamespace(ns);
    restoreLock?.();
  });

  // userspace has no --dry-run, so its start-up is the case that shows its logs' stream.
  it.each([['iptables', 'json'], ['userspace', 'text']])('%s mode, %s logs: nothing on stdout', async (mode, format) => {
    daemon = startDaemon(ns, ['--manifests', FIXTURE, '--hostname-override', 'node-a', '--proxy-mode', mode,
      '--bind-address', '192.0.2.10', '--logging-format', format, '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS]);
    await waitReady(daemon);
    // waitForLine sees stderr lines too (test/support/netns.ts).
    await daemon.waitForLine((l) => l.includes('starting kube-proxy-ts'));
    await daemon.stop();
    expect(daemon.stdout()).toBe('');
    expect(daemon.stderr()).toContain('shutting down; programmed rules stay in place');
    daemon = undefined;
  }, 60_000);
});
