// What the daemon wrote into its `kube-proxy` table, followed transaction by transaction (the
// lines our renderer writes: add/flush/delete of table, chain, set, map, and add/insert rule), so
// that drift can be found without listing the table at every sync: the chains and sets that must
// exist, and how many rules each chain holds. Compared (drift.ts) with the kernel's chain and set
// names (headers only, cheap at any size) and the rules of the fixed chains, where someone adding
// a rule changes where every packet goes. Pure.

const LINE = /^(add|flush|delete|insert|create) (table|chain|set|map|rule) (?:ip6?|inet) kube-proxy(?: (\S+))?/;

export class ExpectedTable {
  /** Chain -> number of rules we left in it. */
  readonly #chains = new Map<string, number>();
  /** Sets only: `nft -t list sets` (the cheap listing) does not print maps, and every map of ours is
   * referenced by a rule of a fixed chain, so the kernel refuses to delete it. */
  readonly #sets = new Set<string>();
  #known = false;

  /** Whether a full sync's transaction has been applied since start (before it nothing is known). */
  get known(): boolean {
    return this.#known;
  }

  get chains(): ReadonlyMap<string, number> {
    return this.#chains;
  }

  get sets(): ReadonlySet<string> {
    return this.#sets;
  }

  reset(): void {
    this.#chains.clear();
    this.#sets.clear();
    this.#known = false;
  }

  /** One committed transaction; `full` marks a full sync's (it rewrote every object). */
  apply(transaction: string, full: boolean): void {
    for (const line of transaction.split('\n')) {
      const m = LINE.exec(line);
      if (m === null) continue;
      const [, verb, kind, name = ''] = m;
      if (kind === 'table') {
        if (verb === 'delete') {
          this.#chains.clear();
          this.#sets.clear();
        }
        continue;
      }
      if (kind === 'chain') {
        if (verb === 'delete') this.#chains.delete(name);
        else if (verb === 'flush') this.#chains.set(name, 0);
        else if (!this.#chains.has(name)) this.#chains.set(name, 0);
      } else if (kind === 'set') {
        if (verb === 'delete') this.#sets.delete(name);
        else if (verb !== 'flush') this.#sets.add(name);
      } else if (kind === 'rule' && (verb === 'add' || verb === 'insert')) {
        this.#chains.set(name, (this.#chains.get(name) ?? 0) + 1);
      }
    }
    if (full) this.#known = true;
  }
}

/** The chains whose rules are checked: every chain but the per-Service and per-endpoint ones. */
export const isFixedChain = (name: string): boolean => !/^(service|external|firewall|endpoint)-[A-Z0-9]{8}-/.test(name);

export interface KernelObjects {
  readonly chains: readonly string[];
  readonly sets: readonly string[];
  /** Rule counts of the fixed chains the kernel holds. */
  readonly ruleCounts: ReadonlyMap<string, number>;
}

/** The differences, one line each (sorted); empty when the kernel holds what we wrote. */
export function compareTable(expected: ExpectedTable, kernel: KernelObjects | null): string[] {
  if (kernel === null) return ['table kube-proxy is missing'];
  const out: string[] = [];
  const chains = new Set(kernel.chains);
  const sets = new Set(kernel.sets);
  for (const c of expected.chains.keys()) if (!chains.has(c)) out.push(`chain ${c} is missing`);
  for (const c of chains) if (!expected.chains.has(c)) out.push(`chain ${c} is not ours (not written by the daemon)`);
  for (const s of expected.sets) if (!sets.has(s)) out.push(`set ${s} is missing`);
  for (const s of sets) if (!expected.sets.has(s)) out.push(`set ${s} is not ours (not written by the daemon)`);
  for (const [c, n] of kernel.ruleCounts) {
    const want = expected.chains.get(c);
    if (want !== undefined && want !== n) out.push(`chain ${c} holds ${n} rules, the daemon wrote ${want}`);
  }
  return out.sort();
}
