// The iptables rules applier every mode that writes iptables uses (iptables, ipvs): jump rules
// from built-in chains (jump-rule.ts; one `-S` per built-in chain, then single `iptables -C/-I`
// calls only for jumps not found, as upstream never restores built-in chains), the canaries, one
// `iptables-restore --noflush --counters` per sync, and clean-up of every KUBE-* chain. A dry-run applier with the same
// shape records and prints payloads instead of running anything (--dry-run).
import type { IPFamily } from '../../model/types.ts';
import type { Iptables, RestoreInput, Table, XtablesBackend } from '../../system/iptables.ts';
import { savedChains } from '../../system/iptables.ts';
import { CANARY_CHAIN, CANARY_TABLES, argsToRestore, type JumpRule } from './jump-rule.ts';

export type { JumpRule, RestoreInput };
export { CANARY_CHAIN, CANARY_TABLES };

export interface RulesApplier {
  readonly family: IPFamily;
  readonly backend: XtablesBackend | 'dry-run';
  ensureJumps(jumps: readonly JumpRule[]): Promise<void>;
  ensureCanary(): Promise<void>;
  /** False when any canary copy is gone (tables flushed by someone else). */
  canaryPresent(): Promise<boolean>;
  /** Chains that exist in the nat table now (for stale-chain deletion on a full sync). */
  natChains(): Promise<string[]>;
  /** `iptables-save -t TABLE` (the drift check reads our chains back); absent in --dry-run. */
  save?(table: Table): Promise<string>;
  /** `iptables-save -t TABLE` as decoded chunks while it streams (a 10k-Service nat table is ~31 MB). */
  saveChunks?(table: Table, onText: (text: string) => void | Promise<void>, timeoutMs?: number): Promise<void>;
  /** A string, or chunks written to iptables-restore's stdin in order without joining them. */
  restore(payload: RestoreInput): Promise<void>;
  /** Remove every KUBE-* chain and every rule that jumps to one (see cleanupPayload). */
  cleanup(): Promise<void>;
}

export function createIptablesApplier(ipt: Iptables): RulesApplier {
  return {
    family: ipt.family,
    backend: ipt.backend,
    async ensureJumps(jumps) {
      // One `-S CHAIN` per built-in chain we jump from (six), instead of a `-C` per jump (~30
      // spawns per full sync) or a whole-table save (300k lines of nat at 10k services). A jump
      // listed exactly as we write it is there, and so is its target chain; one not found verbatim
      // (missing, or listed in another spelling) still gets the authoritative `-C`, then `-I`.
      const listed = new Map<string, Set<string>>();
      for (const j of jumps) {
        const key = `${j.table} ${j.chain}`;
        let rules = listed.get(key);
        if (rules === undefined) {
          rules = new Set((await ipt.listChain(j.table, j.chain)).split('\n').map((l) => l.trimEnd()));
          listed.set(key, rules);
        }
        if (rules.has(`-A ${j.chain} ${argsToRestore(j.args)}`)) continue;
        await ipt.ensureChain(j.table, j.target);
        await ipt.ensureRule('prepend', j.table, j.chain, j.args);
      }
    },
    async ensureCanary() {
      for (const t of CANARY_TABLES) await ipt.ensureChain(t, CANARY_CHAIN);
    },
    async canaryPresent() {
      for (const t of CANARY_TABLES) if (!(await ipt.chainExists(t, CANARY_CHAIN))) return false;
      return true;
    },
    async natChains() {
      return ipt.chains('nat');
    },
    save: (table) => ipt.save(table),
    saveChunks: (table, onText, timeoutMs) => ipt.saveChunks(table, onText, timeoutMs),
    restore: (payload) => ipt.restore(payload),
    async cleanup() {
      const parts: string[] = [];
      for (const t of CLEANUP_TABLES) {
        const part = cleanupPayload(t, await ipt.save(t));
        if (part !== '') parts.push(part);
      }
      if (parts.length > 0) await ipt.restore(parts.join(''));
    },
  };
}

/** Chains and `-A` rule lines of one table's iptables-save output. */
const CLEANUP_TABLES: readonly Table[] = ['raw', 'mangle', 'nat', 'filter'];

/**
 * kubelet's chains, shared with kube-proxy; upstream CleanupLeftovers leaves KUBE-FIREWALL (and
 * never touches kubelet's markers), so a node that runs kubelet keeps its rules.
 */
const FOREIGN_KUBE_CHAINS = new Set(['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT', 'KUBE-MARK-DROP']);

const isOurs = (chain: string): boolean => chain.startsWith('KUBE-') && !FOREIGN_KUBE_CHAINS.has(chain);

/** The `-j`/`-g` target of a saved rule line. */
function ruleTarget(line: string): string | undefined {
  return / -[jg] (\S+)/.exec(line)?.[1];
}

/**
 * A restore fragment for one table that deletes (1) every rule outside our chains that jumps into
 * one (built-in jumps of the iptables, ipvs and userspace modes alike), then (2) flushes and deletes
 * every chain of ours. Rules are deleted by their saved text (`-D` lines), which iptables-restore
 * matches like `iptables -D`; other rules and chains are left alone. Pure (exported for tests).
 */
export function cleanupPayload(table: Table, saved: string): string {
  const chains = savedChains(saved).filter(isOurs);
  if (chains.length === 0) return '';
  const ours = new Set(chains);
  const out = [`*${table}`];
  for (const line of saved.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const chain = line.split(' ')[1] ?? '';
    const target = ruleTarget(line);
    if (!ours.has(chain) && target !== undefined && ours.has(target)) out.push(`-D ${line.slice(3)}`);
  }
  for (const c of chains) out.push(`:${c} - [0:0]`);
  for (const c of chains) out.push(`-X ${c}`);
  out.push('COMMIT', '');
  return out.join('\n');
}

/** --dry-run: nothing runs; every payload is kept and handed to `write` (stdout in main.ts). */
export interface DryRunApplier extends RulesApplier {
  readonly payloads: readonly string[];
  readonly jumps: readonly JumpRule[];
}

export function createDryRunApplier(family: IPFamily, write: (text: string) => void): DryRunApplier {
  const payloads: string[] = [];
  const jumps: JumpRule[] = [];
  let canary = false;
  return {
    family,
    backend: 'dry-run',
    payloads,
    jumps,
    async ensureJumps(js) {
      for (const j of js) {
        jumps.push(j);
        write(`# ${family} jump: -t ${j.table} -I ${j.chain} 1 ${argsToRestore(j.args)}\n`);
      }
    },
    async ensureCanary() {
      canary = true;
    },
    canaryPresent: async () => canary,
    natChains: async () => [],
    async restore(payload) {
      // Dry-run keeps every payload whole (for --dry-run output and tests).
      const text = typeof payload === 'string' ? payload : [...payload].join('');
      payloads.push(text);
      write(`# ${family} ${family === 'IPv6' ? 'ip6tables' : 'iptables'}-restore --noflush --counters\n${text}`);
    },
    async cleanup() {
      write(`# ${family} cleanup: every KUBE-* chain and the rules jumping to them would be removed\n`);
    },
  };
}
