// Issue 13, defect 7: what the documents say each mode does for IP families is what the code does.
// The claims are read from README.md's mode table, docs/operations.md's status note and its
// "Choose a mode" table; the facts from the real daemon: --dry-run of the dual-stack example for
// iptables and ipvs (a section per family, each with that family's Service addresses), and a
// userspace daemon in a namespace (it has no --dry-run), which must proxy a port of each family.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_BIN, HEALTHZ, METRICS, pollUntil, startDaemon, usePrivateXtablesLock, type Daemon } from './support/daemon.ts';
import { createNamespace, deleteNamespace, execIn } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

type Family = 'IPv4' | 'IPv6';
const MODES = ['iptables', 'ipvs', 'userspace'] as const;
/** The modes the documents' tables list (the daemon checks below cover MODES). */
const DOC_MODES: readonly string[] = [...MODES, 'nftables'];
const BOTH: readonly Family[] = ['IPv4', 'IPv6'];
const EXAMPLE = fileURLToPath(new URL('../examples/dual-stack', import.meta.url));
/** The example's Service addresses (examples/dual-stack/web-dual.yaml). */
const ADDRESS: Record<Family, string> = { IPv4: '10.96.0.70', IPv6: 'fd00:10:96::70' };

const doc = (file: string): string => readFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url)), 'utf8');
const cells = (row: string): string[] => row.split('|').slice(1, -1).map((c) => c.trim());

/** README.md's mode table: the last column, e.g. `IPv4 + IPv6`, per mode. */
function readmeClaims(): Record<string, Family[]> {
  const out: Record<string, Family[]> = {};
  for (const line of doc('README.md').split('\n')) {
    const m = /^\| `(\w+)`/.exec(line);
    if (!m?.[1] || !DOC_MODES.includes(m[1])) continue;
    out[m[1]] = (cells(line).at(-1) ?? '').split('+').map((f) => f.trim()).filter((f): f is Family => f === 'IPv4' || f === 'IPv6');
  }
  return out;
}

/** docs/operations.md's "IPv6 / dual-stack" row, in the order of its header's mode columns. */
function operationsTableClaims(): Record<string, Family[]> {
  const lines = doc('docs/operations.md').split('\n');
  const row = lines.findIndex((l) => l.startsWith('| IPv6 / dual-stack |'));
  expect(row, 'the "IPv6 / dual-stack" row of "Choose a mode"').toBeGreaterThan(0);
  let header = row;
  while (header > 0 && !(lines[header - 1] ?? '').startsWith('|---')) header -= 1;
  const modes = cells(lines[header - 2] ?? '').slice(1).map((c) => /`(\w+)`/.exec(c)?.[1] ?? c);
  const answers = cells(lines[row] ?? '').slice(1);
  return Object.fromEntries(modes.map((mode, i) => [mode, (answers[i] ?? '').startsWith('yes') ? [...BOTH] : ['IPv4']]));
}

describe('the documents agree with each other', () => {
  it('README and operations.md claim the same families per mode', () => {
    const readme = readmeClaims();
    expect(Object.keys(readme).sort()).toEqual([...DOC_MODES].sort());
    expect(operationsTableClaims()).toEqual(readme);
  });

  it('no document says a mode is single-family', () => {
    for (const file of ['README.md', 'docs/operations.md', 'docs/configuration.md']) {
      expect(doc(file), file).not.toMatch(/IPv4[ -]only\b(?![- ]node)/i);
    }
  });
});

describe('--dry-run: the families each mode programs', () => {
  it.each(['iptables', 'ipvs'])('%s mode writes a section per family the documents claim', (mode) => {
    const r = spawnSync(process.execPath, [DAEMON_BIN, '--manifests', EXAMPLE, '--hostname-override', 'node-a', '--dry-run',
      '--proxy-mode', mode, '--cluster-cidr', '10.244.0.0/16,fd00:10:244::/56'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const sections: Partial<Record<Family, string>> = {};
    for (const part of r.stdout.split(/^(?=# IPv[46] )/m)) {
      const family = /^# (IPv[46]) /.exec(part)?.[1] as Family | undefined;
      if (family) sections[family] = (sections[family] ?? '') + part;
    }
    const programmed = BOTH.filter((f) => sections[f]?.includes(ADDRESS[f]));
    expect(programmed).toEqual(readmeClaims()[mode]);
  });
});

describeWith('userspace daemon: the families it proxies', ['root', 'iptables'], () => {
  let ns = '';
  let daemon: Daemon | undefined;
  let restoreLock: (() => void) | undefined;
  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ns = await createNamespace('us-families');
    // The Node's InternalIPs (examples/dual-stack/node.yaml), so each family has a node address.
    await execIn(ns, 'ip', ['addr', 'add', '192.0.2.11/32', 'dev', 'lo']);
    await execIn(ns, 'ip', ['addr', 'add', '2001:db8:0:2::11/128', 'dev', 'lo']);
  });
  afterAll(async () => {
    await daemon?.stop();
    if (ns !== '') await deleteNamespace(ns);
    restoreLock?.();
  });

  it('proxies a port of each family the documents claim', async () => {
    daemon = startDaemon(ns, ['--manifests', EXAMPLE, '--hostname-override', 'node-a', '--proxy-mode', 'userspace', '--logging-format', 'json',
      '--cluster-cidr', '10.244.0.0/16,fd00:10:244::/56', '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS]);
    const d = daemon;
    const proxied = (): Family[] => {
      const seen = new Set<string>();
      for (const line of d.stderr().split('\n')) {
        if (!line.includes('"userspace: proxying service port"')) continue;
        const rec = JSON.parse(line) as { family?: string };
        if (rec.family) seen.add(rec.family);
      }
      return BOTH.filter((f) => seen.has(f));
    };
    const claimed = readmeClaims()['userspace'] ?? [];
    const got = await pollUntil('userspace proxies the claimed families', 20_000, async () => {
      if (d.child.exitCode !== null) throw new Error(`daemon exited:\n${d.output()}`);
      return proxied().length >= claimed.length ? proxied() : undefined;
    }).catch((err: unknown) => (d.child.exitCode === null ? proxied() : Promise.reject(err)));
    expect(got).toEqual(claimed);
  }, 60_000);
});
