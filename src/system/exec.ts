// Running external commands (iptables-restore, ipset, conntrack, ip): always an argument array,
// never a shell string; input fed on stdin. Backends receive an `Exec` and never spawn directly.
import { spawn } from 'node:child_process';
import { ExecError } from '../errors.ts';

export interface ExecOptions {
  /** Written to the child's stdin, then stdin is closed. */
  readonly input?: string | Uint8Array;
  /** Killed (SIGKILL) after this many milliseconds. */
  readonly timeoutMs?: number;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Resolves on exit 0; rejects with ExecError (stderr kept) otherwise. */
export type Exec = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

export const exec: Exec = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    }
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new ExecError(file, null, e.message, { cause: e }));
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new ExecError([file, ...args].join(' ').slice(0, 200), code, stderr));
    });
    // A child that exits before reading all of stdin raises EPIPE here; the exit code says why.
    child.stdin.on('error', (e) => err.push(Buffer.from(`stdin: ${e.message}\n`)));
    child.stdin.end(options.input ?? '');
  });
