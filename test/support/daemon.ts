// The real daemon (bin/kube-proxy-ts.js) inside a node namespace, for the daemon end-to-end tests
// and the demo: start it with flags, reach its healthz/metrics servers (bound inside the
// namespace), read a metric, and poll for a condition with a deadline. Processes are started with
// netns.ts's spawnIn, so they are ours, stopped by PID and killed by deleteAllNamespaces too.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';
import { execIn, spawnIn, type NsProcess } from './netns.ts';
import type { Topology } from './topology.ts';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
export const DAEMON_BIN = here('../../bin/kube-proxy-ts.js');
const HTTP_GET = here('./daemon-http-get.ts');

/** Addresses the daemon's servers bind inside its namespace (its own loopback). */
export const HEALTHZ = '127.0.0.1:10256';
export const METRICS = '127.0.0.1:10249';

/**
 * The xtables lock is one file (/run/xtables.lock) for every namespace on the machine, so another
 * run's long iptables-legacy-restore in its own namespaces can stall ours past the 5 s wait and
 * fail a sync. Our namespaces are written only by processes of this run, which serialise among
 * themselves on a private lock instead: set for this process and everything it starts
 * (iptables >= 1.8.6 reads XTABLES_LOCKFILE). Returns the undo.
 */
export function usePrivateXtablesLock(): () => void {
  const previous = process.env.XTABLES_LOCKFILE;
  const file = join(tmpdir(), `kpt-xtables-${process.pid}.lock`);
  process.env.XTABLES_LOCKFILE = file;
  return () => {
    if (previous === undefined) delete process.env.XTABLES_LOCKFILE;
    else process.env.XTABLES_LOCKFILE = previous;
    rmSync(file, { force: true });
  };
}

export interface Daemon extends NsProcess {
  readonly ns: string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
}

/** Start `kube-proxy-ts FLAGS` in `ns` with the Node running this code (the pinned Node 24). */
export function startDaemon(ns: string, flags: readonly string[]): Daemon {
  const p = spawnIn(ns, process.execPath, [DAEMON_BIN, ...flags]);
  const exited = new Promise<number | string>((resolve) => {
    const done = (): void => resolve(p.child.exitCode ?? p.child.signalCode ?? -1);
    if (p.child.exitCode !== null || p.child.signalCode !== null) done();
    else p.child.once('close', done);
  });
  return { ...p, ns, exited };
}

/** Run the daemon to completion (e.g. `--cleanup`): exit code and everything it printed. */
export async function runDaemonOnce(ns: string, flags: readonly string[]): Promise<{ code: number | string; output: string }> {
  const d = startDaemon(ns, flags);
  const code = await d.exited;
  return { code, output: d.output() };
}

export type HttpResult = { readonly status: number; readonly body: string } | { readonly error: string };

/** GET `url` from inside `ns`; never throws for a server that is down. */
export async function httpGetIn(ns: string, url: string, timeoutMs = 2_000): Promise<HttpResult> {
  const r = await execIn(ns, process.execPath, [HTTP_GET, url, String(timeoutMs)]);
  return JSON.parse(r.stdout) as HttpResult;
}

/** Thrown by a probe to stop polling at once (the condition can no longer come true). */
export class GiveUp extends Error {}

/**
 * Poll `probe` every `intervalMs` until it returns a value other than undefined, or fail at the
 * deadline. A probe error is remembered and polling goes on, except for GiveUp.
 */
export async function pollUntil<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err; // kept for the failure message; the condition may still come true
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${deadlineMs} ms${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Wait until every family's first sync has written its rules (/readyz 200, ours), then return the
 * metrics as waitReady does: for dual-stack tests whose next step needs both families programmed.
 */
export async function waitAllFamiliesReady(d: Daemon, deadlineMs = 30_000): Promise<string> {
  await pollUntil(`kube-proxy-ts in ${d.ns} programmed in every family`, deadlineMs, async () => {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new GiveUp(`kube-proxy-ts in ${d.ns} exited (${String(d.child.exitCode ?? d.child.signalCode)}) before it was ready:\n${d.output()}`);
    }
    const rz = await httpGetIn(d.ns, `http://${HEALTHZ}/readyz`);
    return 'status' in rz && rz.status === 200 ? true : undefined;
  });
  return waitReady(d, deadlineMs);
}

/** Wait until the daemon answers /healthz 200 and has finished a sync (last-timestamp metric set). */
export async function waitReady(d: Daemon, deadlineMs = 30_000): Promise<string> {
  return pollUntil(`kube-proxy-ts in ${d.ns} ready`, deadlineMs, async () => {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new GiveUp(`kube-proxy-ts in ${d.ns} exited (${String(d.child.exitCode ?? d.child.signalCode)}) before it was ready:\n${d.output()}`);
    }
    const hz = await httpGetIn(d.ns, `http://${HEALTHZ}/healthz`);
    if (!('status' in hz) || hz.status !== 200) return undefined;
    const m = await httpGetIn(d.ns, `http://${METRICS}/metrics`);
    if (!('status' in m)) return undefined;
    return (metricValue(m.body, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds') ?? 0) > 0 ? m.body : undefined;
  });
}

/**
 * The value of a sample in Prometheus text: `name` matches the first sample of that name whatever
 * its labels; `name{label="v"}` matches that exact label set as written.
 */
export function metricValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && (m[1] === name || `${m[1]}${m[2] ?? ''}` === name)) return Number(m[3]);
  }
  return undefined;
}

/** What a suite running one daemon in a topology holds (set in its beforeAll). */
export interface DaemonSuiteContext {
  topo: Topology | undefined;
  dir: string;
  daemon: Daemon | undefined;
}

/**
 * The teardown of such a suite: the daemon's log printed when a test fails (the first thing to read
 * then), and afterwards the daemon stopped, the topology torn down, the manifests directory removed
 * and the xtables lock restored (`restoreLock` is read at teardown: beforeAll sets it).
 */
export function registerDaemonSuiteTeardown(ctx: DaemonSuiteContext, restoreLock: () => (() => void) | undefined): void {
  afterEach(({ task }) => {
    if (task.result?.state === 'fail' && ctx.daemon) console.error(`kube-proxy-ts output (last 6000 chars):\n${ctx.daemon.output().slice(-6000)}`);
  });
  afterAll(async () => {
    await ctx.daemon?.stop();
    await ctx.topo?.teardown();
    if (ctx.dir !== '') rmSync(ctx.dir, { recursive: true, force: true });
    restoreLock()?.();
  });
}
