// Start-up with bad input, through the real entry point (bin/kube-proxy-ts.js) as an operator runs
// it: exit status 1 and exactly one line on stderr naming the flag or file and the reason, nothing
// on stdout. No root needed: these fail before anything touches the system.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAEMON_BIN } from './support/daemon.ts';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DAEMON_BIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'kpt-cli-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const HEADER = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';

const cases: { name: string; args: () => string[]; names: () => string; reason: RegExp }[] = [
  { name: 'an unknown --proxy-mode', args: () => ['--proxy-mode', 'foo'], names: () => '--proxy-mode', reason: /must be one of iptables, ipvs, userspace, nftables, got "foo"/ },
  { name: 'a --config file that does not exist', args: () => ['--config', join(dir, 'absent.yaml')], names: () => join(dir, 'absent.yaml'), reason: /cannot read file \(ENOENT\)/ },
  {
    name: 'a --config file that is not YAML',
    args: () => ['--config', file('broken.yaml', `${HEADER}mode: [\n`)],
    names: () => join(dir, 'broken.yaml'),
    reason: /not valid YAML or JSON/,
  },
  {
    name: 'a --config file with a bad mode',
    args: () => ['--config', file('mode.yaml', `${HEADER}mode: foo\n`)],
    names: () => `${join(dir, 'mode.yaml')}: mode:`,
    reason: /must be one of .*got "foo"/,
  },
  { name: 'an unknown feature gate', args: () => ['--feature-gates', 'NFTablesProxyMode=true,NoSuchGate=true'], names: () => '--feature-gates', reason: /unrecognized feature gate: NoSuchGate$/ },
  {
    name: 'a --config file with an unknown feature gate',
    args: () => ['--config', file('gates.yaml', `${HEADER}featureGates:\n  NoSuchGate: true\n`)],
    names: () => `${join(dir, 'gates.yaml')}: featureGates:`,
    reason: /unrecognized feature gate: NoSuchGate$/,
  },
  {
    name: 'a --config file with a bad duration',
    args: () => ['--config', file('duration.yaml', `${HEADER}iptables:\n  syncPeriod: banana\n`)],
    names: () => 'iptables.syncPeriod',
    reason: /invalid duration "banana"/,
  },
];

describe('kube-proxy-ts start-up with bad input', () => {
  it.each(cases)('$name: exit 1 with one line naming it', async (c) => {
    const r = await run(c.args());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines, r.stderr).toHaveLength(2); // one line and its newline
    expect(lines[1]).toBe('');
    expect(lines[0]).toMatch(/^kube-proxy-ts: /);
    expect(lines[0]).toContain(c.names());
    expect(lines[0]).toMatch(c.reason);
  });

  it('a valid command line still starts (control case for the table above)', async () => {
    const r = await run(['--version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^kube-proxy-ts /);
  });
});
