// Network namespaces for system tests. Every namespace made here is named `kpt-<pid>-<tag>` (so a
// leftover is traceable to its test run), is registered, and is deleted by `deleteAllNamespaces`,
// which also runs on SIGINT/SIGTERM. Nothing here touches the root namespace beyond
// `ip netns add/del/exec` (DEVELOPERS.md, "Safety of the machine").
import { spawn, type ChildProcess } from 'node:child_process';
import { exec, type Exec, type ExecResult } from '../../src/system/exec.ts';

const created = new Set<string>();
const processes = new Set<ChildProcess>();
let counter = 0;
let signalsHooked = false;

/** The prefix every namespace of this process starts with. */
export const NS_PREFIX = `kpt-${process.pid}-`;

/** Run a command inside a namespace (argument array, no shell). */
export function execIn(ns: string, file: string, args: readonly string[], input?: string): Promise<ExecResult> {
  return exec('ip', ['netns', 'exec', ns, file, ...args], { input: input ?? '', timeoutMs: 60_000 });
}

/**
 * An Exec whose commands run inside `ns`: hand it to the system modules (iptables, conntrack, …)
 * so they act on the namespace exactly as they would on a node.
 */
export function nsExec(ns: string): Exec {
  return (file, args, options) => exec('ip', ['netns', 'exec', ns, file, ...args], options);
}

/** `ip -n NS ...`: iproute2 acting inside the namespace without entering it. */
export function ipIn(ns: string, args: readonly string[]): Promise<ExecResult> {
  return exec('ip', ['-n', ns, ...args], { timeoutMs: 30_000 });
}

/** Write a sysctl inside the namespace (never in the root namespace). */
export async function sysctlIn(ns: string, key: string, value: string): Promise<void> {
  await execIn(ns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
}

/** Create a fresh, uniquely named namespace with loopback up. */
export async function createNamespace(tag: string): Promise<string> {
  hookSignals();
  counter += 1;
  const name = `${NS_PREFIX}${counter}-${tag}`;
  await exec('ip', ['netns', 'add', name]);
  created.add(name);
  await ipIn(name, ['link', 'set', 'lo', 'up']);
  return name;
}

/** Delete one of our namespaces (processes inside it must already be stopped). */
export async function deleteNamespace(name: string): Promise<void> {
  if (!created.has(name)) throw new Error(`not a namespace of this run: ${name}`);
  await exec('ip', ['netns', 'del', name]);
  created.delete(name);
}

/**
 * A veth pair created inside `nsA` (so it never exists in the root namespace) with its peer moved
 * to `nsB` in the same command.
 */
export async function vethBetween(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
  await ipIn(nsA, ['link', 'add', 'name', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  await ipIn(nsA, ['link', 'set', ifA, 'up']);
  await ipIn(nsB, ['link', 'set', ifB, 'up']);
}

export interface NsProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the first line, of stdout or stderr, that satisfies `test` (e.g. a "ready" line). */
  waitForLine(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Write to the process's stdin (only when started with `{ stdin: true }`). */
  write(text: string): void;
  /** Everything the process wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  /** What it wrote to stdout alone so far. */
  stdout(): string;
  /** What it wrote to stderr alone so far (the daemon's logs). */
  stderr(): string;
  /** SIGTERM by PID, SIGKILL after a grace period; resolves when it exited. */
  stop(): Promise<void>;
}

/** Start a long-running process inside a namespace; it is stopped by `deleteAllNamespaces` too. */
export function spawnIn(
  ns: string,
  file: string,
  args: readonly string[],
  opts: { readonly stdin?: boolean } = {},
): NsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, file, ...args], {
    stdio: [opts.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${file} in ${ns}`);
  const pid = child.pid;
  const { stdout, stderr } = child;
  if (!stdout || !stderr) throw new Error(`no output pipes for ${file} in ${ns}`);
  processes.add(child);
  let out = '';
  const streams = { stdout: '', stderr: '' };
  const lineWaiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  const seen: string[] = [];
  const onLine = (line: string): void => {
    seen.push(line);
    for (const w of [...lineWaiters]) {
      if (w.test(line)) {
        lineWaiters.splice(lineWaiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  // Lines of both streams are matched: the daemon logs on stderr (as klog), helpers print on stdout.
  // Each stream is split on its own, so a line is never made of pieces of both.
  const follow = (name: 'stdout' | 'stderr', stream: NodeJS.ReadableStream): void => {
    let pending = '';
    stream.on('data', (b: Buffer) => {
      const s = b.toString('utf8');
      out += s;
      streams[name] += s;
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  };
  follow('stdout', stdout);
  follow('stderr', stderr);
  const exited = new Promise<void>((resolve) => {
    child.on('close', () => {
      processes.delete(child);
      resolve();
    });
  });
  return {
    pid,
    child,
    output: () => out,
    stdout: () => streams.stdout,
    stderr: () => streams.stderr,
    write(text) {
      if (!child.stdin) throw new Error(`${file} in ${ns} was started without stdin`);
      child.stdin.write(text);
    },
    waitForLine(test, timeoutMs = 30_000) {
      const hit = seen.find(test);
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${file} in ${ns}: no expected line within ${timeoutMs} ms; output:\n${out}`)),
          timeoutMs,
        );
        const waiter = {
          test,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        lineWaiters.push(waiter);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${file} in ${ns} exited (code ${child.exitCode}); output:\n${out}`));
        });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      // Through the child handle, not process.kill(pid): a process that has just exited (reaped,
      // its 'exit' event not dispatched yet) is ESRCH, which child.kill takes as already dead.
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Stop every process started here and delete every namespace created here. */
export async function deleteAllNamespaces(): Promise<void> {
  for (const child of [...processes]) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  const errors: string[] = [];
  for (const name of [...created]) {
    // A killed process can hold the namespace for a moment; `ip netns del` still unmounts the name.
    await exec('ip', ['netns', 'del', name]).then(
      () => created.delete(name),
      (err: unknown) => errors.push(`${name}: ${String(err)}`),
    );
  }
  if (errors.length > 0) throw new Error(`could not delete namespaces: ${errors.join('; ')}`);
}

/** Namespaces this process created and has not deleted yet. */
export function liveNamespaces(): readonly string[] {
  return [...created];
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  const onSignal = (sig: NodeJS.Signals): void => {
    void deleteAllNamespaces()
      .catch((err: unknown) => console.error(`netns teardown: ${String(err)}`))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
