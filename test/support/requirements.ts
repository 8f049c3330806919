// System tests declare what they need; when something is missing the suite registers one skipped
// test whose name carries the reason, so `npm test` prints *why* (scripts/test.js lists skips).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';

export type Requirement = 'root' | 'iptables' | 'uml' | 'haproxy' | 'socat' | 'ipset' | 'conntrack';

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch (err) {
    void err; // absent: the caller reports it as a missing requirement
    return false;
  }
}

const checks: Record<Requirement, () => string | null> = {
  root: () => (process.getuid?.() === 0 ? null : 'needs root (network namespaces)'),
  iptables: () =>
    hasCommand('iptables-legacy-restore') || hasCommand('iptables-nft-restore')
      ? null
      : 'needs iptables (Debian package iptables)',
  uml: () =>
    existsSync('/usr/bin/linux.uml') ? null : 'needs the IPVS test kernel (Debian package user-mode-linux)',
  haproxy: () => (hasCommand('haproxy') ? null : 'needs haproxy'),
  socat: () => (hasCommand('socat') ? null : 'needs socat'),
  ipset: () => (hasCommand('ipset') ? null : 'needs ipset'),
  conntrack: () => (hasCommand('conntrack') ? null : 'needs conntrack'),
};

/** The first missing requirement's reason, or null when all are met. */
export function missing(requirements: readonly Requirement[]): string | null {
  for (const r of requirements) {
    const reason = checks[r]();
    if (reason) return reason;
  }
  return null;
}

/** `describe` that runs only when every requirement is met, and otherwise reports why it skipped. */
export function describeWith(name: string, requirements: readonly Requirement[], fn: () => void): void {
  const reason = missing(requirements);
  if (reason === null) describe(name, fn);
  else describe(name, () => it.skip(`skipped: ${reason}`, () => undefined));
}
