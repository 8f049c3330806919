// Process plumbing for the userspace bench: children in the bench namespace (optionally pinned to
// a CPU), their resident memory and CPU time from /proc, and teardown of exactly what we started.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const NS = `kpt-us-${process.pid}-bench`;
const children: ChildProcess[] = [];

export function sh(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Start `cmd` in the namespace (pinned to `cpu` when given) with a raised fd limit; resolves once
 * it printed `wait`, or at once without one.
 */
export function start(cmd: string[], wait?: string, cpu?: number): Promise<ChildProcess> {
  // The hard limit may be low in a container: raise the soft limit to it.
  const script = 'ulimit -n "$(ulimit -Hn)"; exec "$@"';
  const pin = cpu === undefined ? [] : ['taskset', '-c', String(cpu)];
  const child = spawn('ip', ['netns', 'exec', NS, 'sh', '-c', script, 'sh', ...pin, ...cmd], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  if (wait === undefined) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(wait)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited ${code}: ${out}`)));
  });
}

/** Run a child to its end and return its stdout. */
export async function output(cmd: string[], cpu?: number): Promise<string> {
  const child = await start(cmd, undefined, cpu);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((r) => child.on('exit', r));
  return out;
}

/** Kill one child we started, and what it started (socat's forks), and wait for it to be gone. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise((r) => child.on('exit', r));
  for (const pid of treePids(child.pid).reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  await gone;
}

function statusKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** Resident memory of one process in KiB. */
export const rssKiB = (pid: number): number => statusKiB(pid);

/** A /proc read that failed because the process ended meanwhile (ENOENT, or ESRCH mid-read). */
const gone = (err: unknown): boolean =>
  ['ENOENT', 'ESRCH'].includes((err as NodeJS.ErrnoException).code ?? '');

/** The pids whose parent is `pid` (socat forks one per connection). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch (err) {
      // The process ended between readdir and read: it is no child of anything any more.
      if (!gone(err)) throw err;
    }
  }
  return out;
}

function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch (err) {
    if (!gone(err)) throw err;
    return 0;
  }
}

/** `pid` and every process below it. */
export function treePids(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i] ?? 0));
  return out;
}

/**
 * Proportional memory (PSS, KiB) of a process and its descendants: for a forking proxy, RSS would
 * count the pages every child shares with the parent once per child.
 */
export const treePssKiB = (pid: number): number => treePids(pid).reduce((a, p) => a + pssKiB(p), 0);

/**
 * User + system CPU time of a process and its descendants, in µs (/proc/PID/stat, clock ticks of
 * 10 ms), with cutime/cstime: a forking proxy's children count, alive or reaped.
 */
export function cpuMicros(pid: number): number {
  let total = 0;
  for (const p of treePids(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at state, field 3.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * (1e6 / 100);
    } catch (err) {
      if (!gone(err)) throw err;
    }
  }
  return total;
}

export async function teardown(): Promise<void> {
  for (const c of children) await stop(c).catch((err: unknown) => console.error(`stop: ${String(err)}`));
  // Other runs add and delete namespaces at the same time; iproute2's /run/netns handling can race
  // with them, so check that ours is really gone and retry.
  for (let i = 0; i < 5; i++) {
    try {
      sh('ip', ['netns', 'del', NS]);
    } catch (err) {
      if (i === 4) console.error(`could not delete ${NS}: ${String(err)}`);
    }
    if (
      !sh('ip', ['netns', 'list'])
        .split('\n')
        .some((l) => l.split(' ')[0] === NS)
    )
      return;
    await settle(200);
  }
}
