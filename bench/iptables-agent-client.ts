// The parent's side of bench/iptables-agent.ts: starts the agent (the real IptablesProxier in a
// child process inside a namespace) and talks to it one JSON line per command. Shared by
// iptables.bench.ts and modes-side-by-side.bench.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compiled } from './compiled.ts';

export type Reply = Record<string, number> & { ok?: boolean; error?: string };

export interface Agent {
  send(cmd: Record<string, unknown>): Promise<Reply>;
  stop(): Promise<void>;
}

export interface AgentOptions {
  readonly ns: string;
  readonly backend: 'legacy' | 'nft';
  readonly services: number;
  readonly endpoints: number;
  /** Where the agent writes each sync's payload (last-<backend>.txt) and the xtables lock. */
  readonly dir: string;
  /** Node flags for the agent process (the image's NODE_OPTIONS by default in the benches). */
  readonly flags: readonly string[];
}

const agents = new Set<ChildProcess>();

export function startAgent(o: AgentOptions): Agent {
  const args = ['netns', 'exec', o.ns, process.execPath, '--expose-gc', ...o.flags, ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${o.dir}`] : []),
    compiled('./iptables-agent.ts', import.meta.url), o.backend, String(o.services), String(o.endpoints), o.dir];
  // The xtables lock is a file (/run/xtables.lock), shared by every namespace on the machine: a
  // private one keeps other runs' long restores from making our `-w 5` calls time out.
  const env = { ...process.env, XTABLES_LOCKFILE: join(o.dir, `xtables-${o.ns}.lock`) };
  const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'inherit'], env, detached: true });
  agents.add(child);
  const replies: ((r: Reply) => void)[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => replies.shift()?.(JSON.parse(l) as Reply));
  const exited = new Promise<void>((r) => child.once('exit', () => {
    agents.delete(child);
    r();
  }));
  return {
    async send(cmd) {
      const reply = new Promise<Reply>((resolve, reject) => {
        replies.push(resolve);
        void exited.then(() => reject(new Error(`agent in ${o.ns} exited`)));
      });
      child.stdin?.write(`${JSON.stringify(cmd)}\n`);
      const r = await reply;
      if (r.ok !== true) throw new Error(`agent in ${o.ns}: ${r.error ?? 'failed'}`);
      return r;
    },
    async stop() {
      child.stdin?.end();
      await exited;
    },
  };
}

/** SIGKILL every agent still running, by process group (each leads its own: detached). */
export function killAgents(): void {
  for (const a of agents) if (a.pid !== undefined && a.exitCode === null && a.signalCode === null) process.kill(-a.pid, 'SIGKILL');
}
