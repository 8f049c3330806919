// Running external commands (iptables-restore, ipset, conntrack, ip): always an argument array,
// never a shell string; input fed on stdin. Backends receive an `Exec` and never spawn directly.
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExecError } from '../errors.ts';

/**
 * Input as chunks: written in order with back-pressure, so a 30 MB iptables-restore payload is
 * never joined into one string nor copied into one Buffer, and a lazy (generator) source is only
 * asked for its next chunk once the child has taken the previous ones.
 */
export type ExecInputChunks = Iterable<string> | AsyncIterable<string>;

export interface ExecOptions {
  /** Written to the child's stdin, then stdin is closed. */
  readonly input?: string | Uint8Array | ExecInputChunks;
  /** Killed (SIGKILL) after this many milliseconds. */
  readonly timeoutMs?: number;
  /**
   * Takes stdout chunk by chunk instead of the result (whose stdout is then ''): for a listing too
   * large to hold whole, such as iptables-save of a 10k-Service nat table. A returned promise
   * pauses the output until it settles (a reader that paces its CPU).
   */
  readonly onStdout?: (chunk: Buffer) => void | Promise<void>;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Resolves on exit 0; rejects with ExecError (stderr kept) otherwise. */
export type Exec = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

const isChunks = (x: ExecOptions['input']): x is ExecInputChunks => typeof x === 'object' && !(x instanceof Uint8Array);

export const exec: Exec = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    /** A chunk source that threw: the child is killed (its input is incomplete) and this is the error. */
    let sourceError: unknown;
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    }
    const failed = (e: unknown): void => {
      // The reader failed: the rest of the output is of no use, and this is the error.
      sourceError ??= e;
      child.kill('SIGKILL');
    };
    const read = (b: Buffer): Promise<void> | undefined => {
      if (sourceError !== undefined || options.onStdout === undefined) return undefined;
      try {
        return options.onStdout(b)?.catch(failed);
      } catch (e) {
        failed(e);
        return undefined;
      }
    };
    /**
     * A reader that paces itself (returns a promise): stdout pauses until it is done, so the child
     * waits on a full pipe. Chunks that still come (Node resumes a child's stdout when it exits)
     * queue behind it, in order.
     */
    let tail: Promise<void> | undefined;
    const queue = (p: Promise<void>): void => {
      tail = p;
      void p.then(() => {
        if (tail !== p) return;
        tail = undefined;
        child.stdout.resume();
      });
    };
    child.stdout.on('data', (b: Buffer) => {
      if (options.onStdout === undefined) return void out.push(b);
      if (tail !== undefined) return void queue(tail.then(() => read(b)));
      const pending = read(b);
      if (pending === undefined) return;
      child.stdout.pause();
      queue(pending);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new ExecError(file, null, e.message, { cause: e }));
    });
    child.on('close', (code) => {
      if (tail !== undefined) return void tail.then(() => done(code));
      done(code);
    });
    const done = (code: number | null): void => {
      if (timer) clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (sourceError !== undefined) reject(sourceError instanceof Error ? sourceError : new Error(String(sourceError)));
      else if (code === 0) resolve({ stdout, stderr });
      else reject(new ExecError([file, ...args].join(' ').slice(0, 200), code, stderr));
    };
    // A child that exits before reading all of stdin raises EPIPE here; the exit code says why.
    const stdinError = (e: Error): void => void err.push(Buffer.from(`stdin: ${e.message}\n`));
    const input = options.input;
    if (!isChunks(input)) {
      child.stdin.on('error', stdinError);
      child.stdin.end(input ?? '');
      return;
    }
    // Only a failure of the source itself kills the child (its input is incomplete); pipeline also
    // destroys the source when stdin breaks, which is the child's doing and told by its exit code.
    async function* guarded(chunks: ExecInputChunks): AsyncGenerator<string> {
      const it = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
      try {
        for (;;) {
          let r: IteratorResult<string>;
          try {
            r = await it.next();
          } catch (e) {
            sourceError = e;
            child.kill('SIGKILL');
            throw e;
          }
          if (r.done === true) return;
          yield r.value;
        }
      } finally {
        await it.return?.();
      }
    }
    pipeline(Readable.from(guarded(input), { objectMode: false, encoding: 'utf8' }), child.stdin).catch((e: unknown) => {
      if (sourceError === undefined) stdinError(e instanceof Error ? e : new Error(String(e)));
    });
  });
