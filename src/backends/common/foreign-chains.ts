// What each proxy mode leaves in iptables, and the restore payload that removes another mode's
// leftovers without touching what the running mode programs. Used when the daemon starts in one
// mode on a node that another mode (ours or upstream kube-proxy) programmed before: once the new
// mode's first sync is in place, the old mode's chains are unreferenced and can go. Upstream used
// to run every other mode's whole CleanupLeftovers at start (v1.2x server_others.go); that deletes
// shared chains such as KUBE-SERVICES too, so here only what the running mode does not use goes.
// Each mode declares its chains (its registry entry's `leftovers.chains`); the table of them all
// is the registry's (src/backends/modes.ts). Pure.
import { argsToRestore, type JumpRule } from './jump-rule.ts';
import { detached, LineSplitter } from './line-splitter.ts';

export type LeftoverTable = 'nat' | 'filter' | 'mangle';
export const LEFTOVER_TABLES: readonly LeftoverTable[] = ['mangle', 'nat', 'filter'];

/** The iptables chains one mode writes. */
export interface ModeChains {
  /** Fixed chain names per table. */
  readonly fixed: Readonly<Record<LeftoverTable, readonly string[]>>;
  /** Generated names (per-service chains) per table. */
  readonly generated: Readonly<Partial<Record<LeftoverTable, (chain: string) => boolean>>>;
  /** Rules in built-in chains that jump into the mode's chains, as `iptables -I` arguments. */
  readonly jumps: readonly JumpRule[];
}

/** Every registered mode's chains, by mode name. */
export type ChainsByMode = ReadonlyMap<string, ModeChains>;

/** Whether a mode with these chains programs a chain of this name in `table`. */
export function modeOwnsChain(m: ModeChains | undefined, table: LeftoverTable, chain: string): boolean {
  if (m === undefined) return false;
  return m.fixed[table].includes(chain) || (m.generated[table]?.(chain) ?? false);
}

/**
 * A chain `keep` does not use but one of the other modes does: the other modes' leftovers. Shared
 * names (nat KUBE-SERVICES, KUBE-POSTROUTING, KUBE-MARK-MASQ, filter KUBE-FORWARD and
 * KUBE-PROXY-FIREWALL between iptables and ipvs) stay: the running mode rewrote them on its sync.
 */
export function isLeftoverChain(modes: ChainsByMode, keep: string, table: LeftoverTable, chain: string): boolean {
  if (modeOwnsChain(modes.get(keep), table, chain)) return false;
  return [...modes].some(([m, chains]) => m !== keep && modeOwnsChain(chains, table, chain));
}

/** The saved text of a jump rule (`-A CHAIN ARGS`), as iptables-save prints it. */
function jumpLine(j: JumpRule): string {
  return `-A ${j.chain} ${argsToRestore(j.args)}`;
}

const normalize = (line: string): string => line.trim().replace(/\s+/g, ' ');

/**
 * Built-in-chain jumps of the other modes into chains `keep` shares with them, which `keep` does
 * not write itself: e.g. the iptables mode's `INPUT -m conntrack --ctstate NEW ... -j
 * KUBE-PROXY-FIREWALL`, which in ipvs mode would run ipvs's firewall on OUTPUT too.
 */
function foreignJumpLines(modes: ChainsByMode, keep: string, table: LeftoverTable): Set<string> {
  const own = new Set((modes.get(keep)?.jumps ?? []).filter((j) => j.table === table).map((j) => normalize(jumpLine(j))));
  const out = new Set<string>();
  for (const [m, chains] of modes) {
    if (m === keep) continue;
    for (const j of chains.jumps) if (j.table === table && !own.has(normalize(jumpLine(j)))) out.add(normalize(jumpLine(j)));
  }
  return out;
}

const ruleTarget = (line: string): string | undefined => / -[jg] (\S+)/.exec(line)?.[1];

export interface LeftoverPlan {
  /** Restore fragment for the table (`*table` ... `COMMIT`), or '' when nothing is left over. */
  readonly payload: string;
  /** Chains it deletes. */
  readonly chains: readonly string[];
  /** Rules it deletes from chains that stay. */
  readonly rules: number;
}

/**
 * For one table's `iptables-save` output: delete (1) every rule in a chain that stays which jumps
 * to a leftover chain, and every other mode's built-in jump that `keep` does not write; then
 * (2) flush and delete the leftover chains. Rules are deleted by their saved text (`-D`), as
 * cleanupPayload in iptables-applier.ts; nothing else is touched. Run it only after `keep` has
 * synced, so that the shared chains no longer point into the leftovers' per-service chains.
 */
export function renderLeftoverCleanup(modes: ChainsByMode, keep: string, table: LeftoverTable, saved: string): LeftoverPlan {
  const scan = new LeftoverScan(modes, keep, table);
  scan.push(saved);
  return scan.end();
}

/**
 * renderLeftoverCleanup over a listing fed in chunks as iptables-save writes it: the 10k-Service
 * nat listing (~31 MB) is never held whole, nor split into all its lines at once (as one string
 * it cost ~90 MiB of peak RSS right after the first sync). Only the leftover chains' names and the
 * candidate `-D` lines are kept, as copies.
 */
export class LeftoverScan {
  readonly #leftover: (chain: string) => boolean;
  readonly #foreign: ReadonlySet<string>;
  readonly #table: LeftoverTable;
  readonly #lines = new LineSplitter((l) => this.#line(l));
  /** Declared chains that are leftovers, in order. */
  readonly #chains: string[] = [];
  /** Rules that may need deleting, decided once every declaration is known (end()). */
  readonly #candidates: { chain: string; target: string | undefined; line: string; foreign: boolean }[] = [];

  constructor(modes: ChainsByMode, keep: string, table: LeftoverTable) {
    const cache = new Map<string, boolean>();
    this.#leftover = (c) => {
      let v = cache.get(c);
      if (v === undefined) {
        v = isLeftoverChain(modes, keep, table, c);
        // Names of our own generated chains are many and all false: only cache the rare true ones.
        if (v) cache.set(c, v);
      }
      return v;
    };
    this.#foreign = foreignJumpLines(modes, keep, table);
    this.#table = table;
  }

  push(chunk: string): void {
    this.#lines.push(chunk);
  }

  #line(line: string): void {
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (name && this.#leftover(name)) this.#chains.push(detached(name));
      return;
    }
    if (!line.startsWith('-A ')) return;
    const chain = line.split(' ')[1] ?? '';
    const target = ruleTarget(line);
    const foreign = this.#foreign.has(normalize(line));
    if (!foreign && (target === undefined || !this.#leftover(target))) return;
    this.#candidates.push({ chain: detached(chain), target: target === undefined ? undefined : detached(target), line: detached(line), foreign });
  }

  end(): LeftoverPlan {
    this.#lines.end();
    const chains = this.#chains;
    const gone = new Set(chains);
    const dels: string[] = [];
    for (const c of this.#candidates) {
      if (gone.has(c.chain)) continue;
      if ((c.target !== undefined && gone.has(c.target)) || c.foreign) dels.push(`-D ${c.line.slice(3)}`);
    }
    if (chains.length === 0 && dels.length === 0) return { payload: '', chains: [], rules: 0 };
    const out = [`*${this.#table}`, ...dels, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''];
    return { payload: out.join('\n'), chains, rules: dels.length };
  }
}

/** The modes whose leftovers a daemon in `mode` removes: all the others. */
export function otherModes(modes: ChainsByMode, mode: string): string[] {
  return [...modes.keys()].filter((m) => m !== mode);
}
