// The nft command: one `nft -f -` per transaction with the text on stdin (argument arrays, never
// a shell), `--check` for dry validation, terse listings of our table (chain and set names at
// start and after a failure, never on a partial sync), the base-chain probe, the version, and
// deleting our tables. An error nft reports is turned into NftError naming the failing command
// and its line in the transaction, so the log says what was refused without the whole payload.
import { ExecError, KubeProxyError } from '../errors.ts';
import type { Exec } from './exec.ts';

export type NftFamily = 'ip' | 'ip6';
const TABLE = 'kube-proxy';

/** A transaction nft refused: `line` is 1-based in the input, `command` its text. */
export class NftError extends KubeProxyError {
  readonly line: number;
  readonly command: string;
  readonly detail: string;
  constructor(detail: string, line: number, command: string, options?: { cause?: unknown }) {
    super('KP_ERR_RULES_APPLY', `nft refused the transaction${line > 0 ? ` at line ${line}` : ''}: ${detail}`, options);
    this.line = line;
    this.command = command;
    this.detail = detail;
  }
}

/** nft's first `/dev/stdin:LINE:COL-COL: Error: ...` (or `-:LINE:...`), with that line's command. */
export function nftErrorOf(err: unknown, input: string): NftError | null {
  if (!(err instanceof ExecError)) return null;
  const m = /^(?:\/dev\/stdin|-|[^:\n]*):(\d+):[\d-]+: Error: (.*)$/m.exec(err.stderr);
  if (m === null) return new NftError(err.stderr.trim().split('\n')[0] ?? 'unknown error', 0, '', { cause: err });
  const line = Number(m[1]);
  const command = input.split('\n')[line - 1] ?? '';
  return new NftError(m[2] ?? '', line, command.length > 300 ? `${command.slice(0, 300)}...` : command, { cause: err });
}

export interface Nft {
  /** Apply one atomic transaction. Rejects with NftError when nft refuses it. */
  run(transaction: string): Promise<void>;
  /** `nft --check -f -`: validate against the kernel without committing. */
  check(transaction: string): Promise<void>;
  /** Chain and set names of our table in `family`; null when the table does not exist. */
  listObjects(family: NftFamily): Promise<{ chains: string[]; sets: string[] } | null>;
  /** How many rules each of `chains` of our table holds (`nft -j list chain`); a missing chain is left out. */
  ruleCounts(family: NftFamily, chains: readonly string[]): Promise<Map<string, number>>;
  /** Whether the table and every one of `chains` (base chains) exist (headers only: cheap at any size). */
  chainsPresent(family: NftFamily, chains: readonly string[]): Promise<boolean>;
  /** `nft --version` as [major, minor, patch]. */
  version(): Promise<[number, number, number]>;
  /** Delete our table of `family` if it exists (add+delete: deleting a missing table fails). */
  deleteTable(family: NftFamily): Promise<void>;
}

/** The `table FAMILY kube-proxy { ... }` block of a listing of every table of the family, or null. */
function ourBlock(out: string, family: NftFamily): string | null {
  const head = `table ${family} ${TABLE} {\n`;
  const i = out.startsWith(head) ? 0 : out.indexOf(`\n${head}`);
  if (i < 0) return null;
  const from = i === 0 ? 0 : i + 1;
  const end = out.indexOf('\n}', from);
  return out.slice(from, end < 0 ? out.length : end);
}

/** Runs a transaction in this process (native/libnftables.ts): nft's error text, '' when accepted. */
export type InProcessNft = (transaction: string, dryRun: boolean) => Promise<string>;

/**
 * `inProcess` (libnftables, one context) applies and checks transactions without an nft process
 * per sync: it acts on this process's network namespace, so pass it only with an `exec` that runs
 * commands here too (the daemon's own; not a wrapper that enters another namespace).
 */
export function createNft(exec: Exec, bin = 'nft', inProcess?: InProcessNft): Nft {
  // No short timeout: killing nft aborts the transaction, and a full sync at 30k Services can take
  // the kernel minutes (bench/nftables.bench.ts); a retry would be killed the same way, forever.
  const apply = async (args: string[], transaction: string): Promise<void> => {
    if (inProcess !== undefined) {
      const stderr = await inProcess(transaction, args[0] === '--check');
      if (stderr === '') return;
      // libnftables (1.0.6) reports a buffer's error without its line: the nft command's check of
      // the same text names it (failure path only). Should the check pass, the library's message.
      try {
        await exec(bin, ['--check', '-f', '-'], { input: transaction, timeoutMs: 3_600_000 });
      } catch (err) {
        throw nftErrorOf(err, transaction) ?? err;
      }
      throw new NftError(stderr.trim().split('\n')[0]?.replace(/^Error: /, '') ?? stderr, 0, '');
    }
    try {
      await exec(bin, args, { input: transaction, timeoutMs: 3_600_000 });
    } catch (err) {
      throw nftErrorOf(err, transaction) ?? err;
    }
  };
  const missing = (err: unknown): boolean => err instanceof ExecError && /No such file or directory/.test(err.stderr);
  const listObjects = async (family: NftFamily): Promise<{ chains: string[]; sets: string[] } | null> => {
    // `list chains` / `-t list sets` print headers only: ~40 ms at 10k Services, where a
    // `list table` (even terse) is ~13 s because nft formats every rule.
    let chainsOut: string;
    let setsOut: string;
    try {
      chainsOut = (await exec(bin, ['list', 'chains', family], { timeoutMs: 120_000 })).stdout;
      setsOut = (await exec(bin, ['-t', 'list', 'sets', family], { timeoutMs: 120_000 })).stdout;
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
    const chains = ourBlock(chainsOut, family);
    if (chains === null) return null;
    const names = (block: string, kind: RegExp): string[] => [...block.matchAll(kind)].map((m) => m[1] as string);
    return { chains: names(chains, /^\tchain (\S+) \{$/gm), sets: names(ourBlock(setsOut, family) ?? '', /^\t(?:set|map) (\S+) \{$/gm) };
  };
  return {
    run: (tx) => apply(['-f', '-'], tx),
    check: (tx) => apply(['--check', '-f', '-'], tx),
    listObjects,
    async ruleCounts(family, chains) {
      const out = new Map<string, number>();
      for (const c of chains) {
        let text: string;
        try {
          text = (await exec(bin, ['-j', 'list', 'chain', family, TABLE, c], { timeoutMs: 120_000 })).stdout;
        } catch (err) {
          if (missing(err)) continue;
          throw err;
        }
        const doc = JSON.parse(text) as { nftables?: readonly Record<string, unknown>[] };
        out.set(c, (doc.nftables ?? []).filter((o) => 'rule' in o).length);
      }
      return out;
    },
    async chainsPresent(family, chains) {
      const objs = await listObjects(family);
      if (objs === null) return false;
      const have = new Set(objs.chains);
      return chains.every((c) => have.has(c));
    },
    async version() {
      const out = (await exec(bin, ['--version'], { timeoutMs: 10_000 })).stdout;
      const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(out);
      if (m === null) throw new KubeProxyError('KP_ERR_EXEC', `nft --version: unrecognised output ${JSON.stringify(out.trim())}`);
      return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
    },
    async deleteTable(family) {
      await apply(['-f', '-'], `add table ${family} ${TABLE}\ndelete table ${family} ${TABLE}\n`);
    },
  };
}
