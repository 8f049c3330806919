// Process plumbing for the userspace bench: children in the bench namespace (optionally pinned to
// a CPU), their resident memory and CPU time from /proc, and teardown of exactly what we started.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
  const child = spawn('ip', ['netns', 'exec', NS, 'sh', '-c', script, 'sh', ...pin, ...cmd], { stdio: ['pipe', 'pipe', 'inherit'] });
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

/** Kill one child we started and wait for it to be gone. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise((r) => child.on('exit', r));
  process.kill(child.pid, 'SIGKILL');
  await gone;
}

function statusKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** Resident memory of one process in KiB. */
export const rssKiB = (pid: number): number => statusKiB(pid);

/** User and system CPU time of one process, in µs (from /proc/PID/stat, clock ticks of 10 ms). */
export function cpuMicros(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state, field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 1e6 / 100;
  return { user: Number(f[11]) * tick, sys: Number(f[12]) * tick };
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
    if (!sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === NS)) return;
    await settle(200);
  }
}
