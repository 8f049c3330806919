// For the probes that talk to the kernel from their own process (libnftables, netlink): run this
// script again inside a network namespace of its own, then delete it. Returns in the child (the
// one inside the namespace); the parent exits once the child is done.
import { execFileSync, spawnSync } from 'node:child_process';

export function reexecInOwnNamespace(prefix: string, scriptUrl: string): void {
  if (process.env.KPT_PROBE_NS !== undefined) return;
  if (process.getuid?.() !== 0) {
    console.log('probe skipped: needs root (ip netns)');
    process.exit(0);
  }
  const ns = `${prefix}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, new URL(scriptUrl).pathname], {
      stdio: 'inherit', env: { ...process.env, KPT_PROBE_NS: ns }, timeout: 600_000,
    });
    if (r.status !== 0) console.log(`probe failed (exit ${r.status ?? r.signal})`);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  process.exit(0);
}
