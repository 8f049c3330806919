// The iptables commands kube-proxy runs (upstream pkg/util/iptables): one `iptables-restore`
// per family per sync, `iptables-save -t TABLE` to read state, and single-rule `-C/-I/-D/-N/-F/-X`
// for the jump rules from built-in chains, which are never written with restore. Every call is an
// argument array through the injected Exec; stdin carries the payload.
import { StringDecoder } from 'node:string_decoder';
import { ExecError, KubeProxyError } from '../errors.ts';
import type { IPFamily } from '../model/types.ts';
import type { Exec } from './exec.ts';
import { createProbe, type ProbeLine } from './iptables-probe.ts';
import { SavedChainScanner } from './saved-chains.ts';

export { savedChains } from './saved-chains.ts';

export type Table = 'filter' | 'nat' | 'mangle' | 'raw';

/** saveChunks hands the listing over in pieces of at most this many bytes. */
const SAVE_PIECE = 4096;
export type XtablesBackend = 'legacy' | 'nft';

/**
 * Upstream waits up to 5 s for the xtables lock (pkg/util/iptables WaitSecondsValue). Its `-W`
 * poll interval is deprecated since iptables 1.8.8 (which warns on every call), so it is not passed.
 */
const WAIT_ARGS = ['-w', '5'] as const;
/**
 * A restore waits for the lock without iptables' own timer: iptables-legacy-restore 1.8.9 with
 * `-w N` arms alarm(N) when it takes the lock and never disarms it, so N seconds later SIGALRM
 * interrupts whatever read of stdin is blocked then; fgets takes the EINTR for end of input and the
 * restore fails with "COMMIT expected". A payload streamed while it is rendered (as ours is) meets
 * that on any restore longer than N s (10k Services: half way through). The exec timeout bounds the
 * wait instead. (`-w` alone is "wait forever": no alarm.)
 */
export const RESTORE_WAIT_ARGS = ['-w'] as const;
const TIMEOUT_MS = 60_000;
/**
 * iptables-nft-restore slows down faster than linearly with the number of chains: a full payload
 * of 10,000 Services x 10 endpoints (110k chains) takes many minutes (bench/iptables.bench.ts).
 * Killing it would fail every full sync forever, so a restore gets a far longer limit; upstream
 * sets none at all.
 */
const RESTORE_TIMEOUT_MS = 30 * 60_000;

/**
 * A restore payload: one string, or chunks written in order (never joined; src/system/exec.ts).
 * Chunks may be made lazily as they are read (the iptables renderer's payload); an iterable used
 * here must give the same chunks each time it is iterated (RestoreError reads it again).
 */
export type RestoreInput = string | Iterable<string>;

/** A restore that failed; `line` (1-based, 0 when iptables did not say) and `rule` locate it. */
export class RestoreError extends ExecError {
  readonly line: number;
  readonly rule: string;
  /** The failing line with up to three lines either side (upstream logs the same context). */
  readonly context: string;
  constructor(cause: ExecError, payload: RestoreInput) {
    const line = failingLine(cause.stderr);
    const from = Math.max(1, line - 3);
    const around = line > 0 ? payloadLines(payload, from, line + 3) : [];
    const rule = around[line - from] ?? '';
    const context = around.map((l, i) => `${from + i === line ? '>' : ' '} ${l}`).join('\n');
    super(cause.command, cause.exitCode, cause.stderr, { cause });
    this.line = line;
    this.rule = rule;
    this.context = context;
    if (line > 0) this.message = `${this.message} (line ${line}: ${rule})`;
  }
}

/** Lines `from`..`to` (1-based, inclusive) of a payload, without joining its chunks. */
export function payloadLines(payload: RestoreInput, from: number, to: number): string[] {
  const out: string[] = [];
  let n = 1;
  let partial = '';
  for (const chunk of typeof payload === 'string' ? [payload] : payload) {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      if (n >= from) out.push(partial + chunk.slice(start, nl));
      partial = '';
      start = nl + 1;
      if (++n > to) return out;
    }
    if (n >= from) partial += chunk.slice(start);
  }
  // The last line when the payload does not end with a newline (split('\n') keeps it too).
  if (n >= from && n <= to) out.push(partial);
  return out;
}

/** `iptables-restore` reports `line N failed` (legacy) or `Error occurred at line: N` (both). */
export function failingLine(stderr: string): number {
  const m = /line:? (\d+)/.exec(stderr);
  return m?.[1] ? Number(m[1]) : 0;
}

export interface Iptables {
  readonly family: IPFamily;
  readonly backend: XtablesBackend;
  /** `iptables-restore --noflush --counters`: chains named in the payload are replaced, others kept. */
  restore(payload: RestoreInput): Promise<void>;
  /** `iptables-restore --test`: parse and check the payload against the kernel without committing. */
  test(payload: RestoreInput): Promise<void>;
  /**
   * Read-only questions (`-C CHAIN RULE`, `-S CHAIN`) in one iptables-restore that writes nothing:
   * true when all succeeded, false when one failed or the tool could not run (iptables-probe.ts).
   */
  probe(lines: readonly ProbeLine[]): Promise<boolean>;
  save(table?: Table): Promise<string>;
  /**
   * `iptables-save -t TABLE` handed to `onText` as decoded chunks while the tool writes them: a
   * 10k-Service nat listing (~31 MB) is never held whole (as a string it is ~3× that at its peak:
   * the Buffers, their concatenation, the text).
   */
  /** onText may return a promise: the listing waits for it (a paced reader); timeoutMs bounds the whole read. */
  saveChunks(table: Table, onText: (text: string) => void | Promise<void>, timeoutMs?: number): Promise<void>;
  /** The chains of one table (`iptables-save -t TABLE`), scanned as the listing streams in. */
  chains(table: Table): Promise<string[]>;
  chainExists(table: Table, chain: string): Promise<boolean>;
  /** `-S CHAIN`: the chain's rules in save syntax (`-A CHAIN ...`); fails when it does not exist. */
  listChain(table: Table, chain: string): Promise<string>;
  /** Create the chain if missing; returns whether it already existed. */
  ensureChain(table: Table, chain: string): Promise<boolean>;
  /** `-C`, then `-I CHAIN 1` (prepend) or `-A` if missing; returns whether it already existed. */
  ensureRule(position: 'prepend' | 'append', table: Table, chain: string, rule: readonly string[]): Promise<boolean>;
  /** Delete one copy of the rule; a rule that is not there is not an error. Returns whether one was deleted. */
  deleteRule(table: Table, chain: string, rule: readonly string[]): Promise<boolean>;
  flushChain(table: Table, chain: string): Promise<void>;
  deleteChain(table: Table, chain: string): Promise<void>;
}

/** Binary names: `iptables-legacy-restore`, `ip6tables-nft-save`, … (Debian/upstream 1.8 naming). */
export function binaries(family: IPFamily, backend: XtablesBackend): { main: string; save: string; restore: string } {
  const base = `${family === 'IPv4' ? 'iptables' : 'ip6tables'}-${backend}`;
  return { main: base, save: `${base}-save`, restore: `${base}-restore` };
}

/** Non-zero exit of `-C` means "no such rule" or "no such chain": both answer "absent". */
function isAbsent(err: unknown): boolean {
  return err instanceof ExecError && err.exitCode === 1;
}

export function createIptables(exec: Exec, family: IPFamily, backend: XtablesBackend): Iptables {
  const bin = binaries(family, backend);
  const run = (args: readonly string[]) => exec(bin.main, [...WAIT_ARGS, ...args], { timeoutMs: TIMEOUT_MS });
  const check = async (args: readonly string[]): Promise<boolean> => {
    try {
      await run(args);
      return true;
    } catch (err) {
      if (isAbsent(err)) return false;
      throw err;
    }
  };
  const restoreWith = async (flags: readonly string[], payload: RestoreInput): Promise<void> => {
    try {
      await exec(bin.restore, [...flags, ...RESTORE_WAIT_ARGS], { input: payload, timeoutMs: RESTORE_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof ExecError) throw new RestoreError(err, payload);
      throw err;
    }
  };
  return {
    family,
    backend,
    restore: (payload) => restoreWith(['--noflush', '--counters'], payload),
    test: (payload) => restoreWith(['--noflush', '--test'], payload),
    probe: createProbe(exec, bin.restore, backend),
    async save(table) {
      const { stdout } = await exec(bin.save, table ? ['-t', table] : [], { timeoutMs: TIMEOUT_MS });
      return stdout;
    },
    async saveChunks(table, onText, timeoutMs = TIMEOUT_MS) {
      const decoder = new StringDecoder('utf8');
      // Decoded in small pieces: a reader that allocates per line (the drift digest) would keep a
      // whole 64 KiB read alive long enough to be promoted to the old generation.
      const onStdout = (b: Buffer): void | Promise<void> => {
        let i = 0;
        const rest = (): void | Promise<void> => {
          while (i < b.length) {
            const pending = onText(decoder.write(b.subarray(i, i + SAVE_PIECE)));
            i += SAVE_PIECE;
            if (pending !== undefined) return pending.then(rest);
          }
          return undefined;
        };
        return rest();
      };
      await exec(bin.save, ['-t', table], { timeoutMs, onStdout });
      const rest = decoder.end();
      if (rest !== '') onText(rest);
    },
    async chains(table) {
      const scanner = new SavedChainScanner();
      await exec(bin.save, ['-t', table], { timeoutMs: TIMEOUT_MS, onStdout: (b) => scanner.push(b) });
      return scanner.end();
    },
    // `-S CHAIN` lists one chain and fails with exit 1 when it does not exist.
    chainExists: (table, chain) => check(['-t', table, '-S', chain, '1']),
    listChain: async (table, chain) => (await run(['-t', table, '-S', chain])).stdout,
    async ensureChain(table, chain) {
      if (await check(['-t', table, '-S', chain, '1'])) return true;
      await run(['-t', table, '-N', chain]);
      return false;
    },
    async ensureRule(position, table, chain, rule) {
      if (await check(['-t', table, '-C', chain, ...rule])) return true;
      await run(position === 'prepend' ? ['-t', table, '-I', chain, '1', ...rule] : ['-t', table, '-A', chain, ...rule]);
      return false;
    },
    async deleteRule(table, chain, rule) {
      if (!(await check(['-t', table, '-C', chain, ...rule]))) return false;
      await run(['-t', table, '-D', chain, ...rule]);
      return true;
    },
    flushChain: async (table, chain) => void (await run(['-t', table, '-F', chain])),
    deleteChain: async (table, chain) => void (await run(['-t', table, '-X', chain])),
  };
}

/** Thrown when neither back-end can be used (no binaries, no kernel support). */
export class IptablesUnavailableError extends KubeProxyError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('KP_ERR_KERNEL_MISSING', `iptables unavailable: ${reason}`, options);
  }
}
