// What our restore payloads left in the kernel, per table and chain, as a rule count and a hash of
// the chain's normalised rules (normalise-rule.ts) — not the rule text: at 10k Services × 10
// endpoints that is ~300k lines, which the render memo deliberately does not keep. Payloads are
// fed line by line as they stream to iptables-restore and committed only once the restore
// succeeded, applied as `--noflush` does: a declared chain is replaced, `-X` deletes, others stay.
// compareSaved reads an iptables-save listing against it: a chain of ours missing, a chain whose
// rules differ (added, removed, changed), a jump from a built-in chain missing. Chains we never
// declared (foreign ones, the canaries) are ignored. Pure.
import { detached } from '../../common/line-splitter.ts';
import { DigestTable } from './digest-table.ts';
import { normaliseArgs, normaliseRuleLine } from './normalise-rule.ts';

export type { ChainDigest } from './digest-table.ts';

/** A jump we require from a built-in chain (the renderer's requiredJumps, as table/chain/args). */
export interface ExpectedJump {
  readonly table: string;
  readonly chain: string;
  readonly args: readonly string[];
}

const FNV_PRIME = 0x01000193;

/** Order-dependent FNV-1a over the rule texts (the chain's rules are an ordered list). */
function mix(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return Math.imul(h ^ 0x0a, FNV_PRIME) >>> 0;
}

const EMPTY = 0x811c9dc5;
const SLICE = 1 << 16;

/** Digests chains from restore/save text fed in arbitrary chunks. */
class DigestReader {
  readonly tables = new Map<string, DigestTable>();
  readonly deleted = new Map<string, Set<string>>();
  /** Rules of the chains named here are also kept as text (built-in chains, for the jump check). */
  readonly keepText: ReadonlySet<string>;
  readonly text = new Map<string, Set<string>>();
  #table: DigestTable | undefined;
  #tableName = '';
  #carry = '';

  constructor(keepText: ReadonlySet<string> = new Set()) {
    this.keepText = keepText;
  }

  push(chunk: string): void {
    // A whole iptables-save listing (31 MiB at 10k Services) split at once holds every line twice.
    if (chunk.length > SLICE) {
      for (let i = 0; i < chunk.length; i += SLICE) this.push(chunk.slice(i, i + SLICE));
      return;
    }
    const lines = (this.#carry + chunk).split('\n');
    this.#carry = lines.pop() ?? '';
    for (const l of lines) this.#line(l);
  }

  end(): void {
    if (this.#carry !== '') this.#line(this.#carry);
    this.#carry = '';
  }

  #line(raw: string): void {
    const line = raw.trimEnd();
    if (line.startsWith('*')) {
      this.#tableName = line.slice(1);
      this.#table = this.tables.get(this.#tableName) ?? new DigestTable();
      this.tables.set(this.#tableName, this.#table);
    } else if (this.#table === undefined || line === 'COMMIT' || line === '' || line.startsWith('#')) {
      return;
    } else if (line.startsWith(':')) {
      // A copy: a slice would keep the payload chunk it came from alive as long as the digest.
      const name = detached(line.slice(1).split(' ')[0] ?? '');
      this.#table.set(name, { rules: 0, hash: EMPTY });
      this.deleted.get(this.#tableName)?.delete(name);
    } else if (line.startsWith('-X ')) {
      const name = line.slice(3).trim();
      this.#table.delete(name);
      let d = this.deleted.get(this.#tableName);
      if (d === undefined) this.deleted.set(this.#tableName, (d = new Set()));
      d.add(name);
    } else {
      const r = normaliseRuleLine(line);
      if (r === undefined) return;
      const rule = r.rule;
      this.#table.update(r.chain, EMPTY, (h) => mix(h, rule));
      const key = `${this.#tableName} ${r.chain}`;
      if (this.keepText.has(key)) {
        let s = this.text.get(key);
        if (s === undefined) this.text.set(key, (s = new Set()));
        s.add(r.rule);
      }
    }
  }
}

export interface PayloadRecorder {
  /** The payload is being read again from its start (a re-iterated chunk list). */
  restart(): void;
  push(chunk: string): void;
  commit(): void;
}

export class ExpectedRules {
  readonly #tables = new Map<string, DigestTable>();
  #jumps: readonly ExpectedJump[] = [];
  #known = false;
  #version = 0;

  /**
   * Moves whenever what we wrote changes (a chain's rules, a chain added or deleted): a drift check
   * that started under another version compared against rules that are no longer ours.
   */
  get version(): number {
    return this.#version;
  }

  /** Whether a payload was applied since start (before that, nothing is compared). */
  get known(): boolean {
    return this.#known;
  }

  get chainCount(): number {
    let n = 0;
    for (const t of this.#tables.values()) n += t.size;
    return n;
  }

  /**
   * A recorder for one payload: feed it every chunk, then call `commit` once the restore succeeded.
   * A full payload replaces what was known (it declares every chain we own).
   */
  recorder(full: boolean): PayloadRecorder {
    let reader = new DigestReader();
    return {
      restart: () => {
        reader = new DigestReader();
      },
      push: (chunk) => reader.push(chunk),
      commit: () => {
        reader.end();
        let changed = !this.#known;
        if (full) {
          let count = 0;
          for (const chains of reader.tables.values()) count += chains.size;
          if (count !== this.chainCount) changed = true;
        }
        const before = full ? new Map(this.#tables) : this.#tables;
        if (full) this.#tables.clear();
        for (const [t, deleted] of reader.deleted) {
          for (const c of deleted) {
            if (this.#tables.get(t)?.has(c) === true) changed = true;
            this.#tables.get(t)?.delete(c);
          }
        }
        for (const [t, chains] of reader.tables) {
          let mine = this.#tables.get(t);
          if (mine === undefined) this.#tables.set(t, (mine = new DigestTable()));
          const old = before.get(t);
          for (const [c, d] of chains) {
            const was = old?.get(c);
            if (was === undefined || was.rules !== d.rules || was.hash !== d.hash) changed = true;
            mine.set(c, d);
          }
        }
        if (changed) this.#version++;
        this.#known = true;
      },
    };
  }

  /** The jumps the last full sync ensured. */
  setJumps(jumps: readonly ExpectedJump[]): void {
    this.#jumps = jumps;
  }

  /** The tables a comparison needs listed. */
  tables(): string[] {
    return [...new Set([...this.#tables.keys(), ...this.#jumps.map((j) => j.table)])].sort();
  }

  /**
   * Differences between `saved` (one iptables-save listing per table, as chunks) and what we wrote,
   * at most `limit` of them (the count of chains that differ is in the last line when cut).
   */
  compare(saved: ReadonlyMap<string, Iterable<string>>, limit = 20): string[] {
    const c = this.comparer();
    for (const [, chunks] of saved) for (const chunk of chunks) c.push(chunk);
    return c.differences(limit);
  }

  /**
   * compare() fed as the listings stream in (one table after another, each from its `*table`
   * line): a 10k-Service nat listing (~31 MB) is digested chunk by chunk, never held whole.
   */
  comparer(): { push(chunk: string): void; differences(limit?: number): string[] } {
    const keep = new Set(this.#jumps.map((j) => `${j.table} ${j.chain}`));
    const reader = new DigestReader(keep);
    return {
      push: (chunk) => reader.push(chunk),
      differences: (limit = 20) => {
        reader.end();
        return this.#differences(reader, limit);
      },
    };
  }

  #differences(reader: DigestReader, limit: number): string[] {
    const out: string[] = [];
    for (const [t, chains] of this.#tables) {
      const kernel = reader.tables.get(t);
      for (const [name, want] of chains) {
        const got = kernel?.get(name);
        if (got === undefined) out.push(`${t} chain ${name} missing`);
        else if (got.rules > want.rules) out.push(`${t} chain ${name}: ${got.rules - want.rules} rule(s) added (${got.rules}, expected ${want.rules})`);
        else if (got.rules < want.rules) out.push(`${t} chain ${name}: ${want.rules - got.rules} rule(s) removed (${got.rules}, expected ${want.rules})`);
        else if (got.hash !== want.hash) out.push(`${t} chain ${name}: rules changed`);
      }
    }
    for (const j of this.#jumps) {
      const rules = reader.text.get(`${j.table} ${j.chain}`);
      if (rules === undefined || !rules.has(normaliseArgs(j.args))) out.push(`${j.table} chain ${j.chain}: jump ${j.args.join(' ')} missing`);
    }
    if (out.length > limit) return [...out.slice(0, limit), `… ${out.length - limit} more`];
    return out;
  }
}
