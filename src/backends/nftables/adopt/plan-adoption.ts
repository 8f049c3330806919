// Restart adoption (issue 12): the transaction a full sync would write (render.ts, without
// replaceTable) cut down to what the kernel's table lacks. Service chains whose every rule is the
// one we would write (compare-rules.ts) are left alone; others are flushed and rewritten as the
// full sync would; the fixed chains (a few dozen rules) are always rewritten. Named sets and maps
// get only the missing elements (a container holding an element we do not want, or a different
// value, is flushed and refilled whole); affinity sets are kept with their recorded clients by the
// `add set` the render already writes. Chains of ours nobody wants are flushed (render.ts, from
// `existing`) and foreign chains too; both are deleted later. Anything not understood gives a
// reason instead, and the caller replaces the table whole as before. Pure.
import { compileRule, type CompiledRule } from '../compile/rule.ts';
import { compileTransaction } from '../compile/transaction.ts';
import type { NfFamily } from '../compile/values.ts';
import { BASE_CHAINS } from '../render-base.ts';
import { isServiceChainName, TABLE } from '../names.ts';
import type { SetElem } from '../../../netlink/nftables/messages.ts';
import { elemKey, ourElemKey, sameRule } from './compare-rules.ts';
import type { KernelTable } from './kernel-table.ts';

const HOOKS: Readonly<Record<string, number>> = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 };

export interface AdoptionPlan {
  readonly transaction: string;
  /** Foreign chains flushed by it, to delete later as stale. */
  readonly foreignChains: readonly string[];
  readonly keptChains: number;
  readonly rewrittenChains: number;
}

/** Why the kernel's table is not adopted (replaced whole instead), or null when it fits our layout. */
export function layoutMismatch(kernel: KernelTable): string | null {
  for (const bc of BASE_CHAINS) {
    const k = kernel.chains.get(bc.name);
    if (k === undefined) continue;
    if (k.hook === undefined || k.hook.num !== HOOKS[bc.hook] || k.hook.priority !== bc.priority || k.hook.type !== bc.type) {
      return `base chain ${bc.name} is not type ${bc.type} hook ${bc.hook} priority ${bc.priority}`;
    }
  }
  for (const [name, k] of kernel.chains) {
    if (k.hook !== undefined && !BASE_CHAINS.some((b) => b.name === name)) return `unknown base chain ${name}`;
  }
  return null;
}

interface Line {
  readonly text: string;
  readonly chain?: string;
  readonly container?: string;
}

/**
 * `full`: the full render's transaction (rendered with `existing` from the kernel, no base-chain
 * re-creation, no replaceTable). Returns the adoption transaction or a reason to replace whole.
 */
export function planAdoption(full: string, fam: NfFamily, kernel: KernelTable): AdoptionPlan | { readonly fallback: string } {
  const mismatch = layoutMismatch(kernel);
  if (mismatch !== null) return { fallback: mismatch };
  const t = `${fam} ${TABLE} `;
  const lines: Line[] = [];
  const rules = new Map<string, string[]>();
  const chainRe = new RegExp(`^(?:add|flush) chain ${escape(t)}(\\S+)(?: \\{.*)?$`);
  const ruleRe = new RegExp(`^add rule ${escape(t)}(\\S+) (.*)$`);
  const elemRe = new RegExp(`^(?:add element|flush set|flush map) ${escape(t)}(\\S+)`);
  for (const text of full.split('\n')) {
    if (text === '') continue;
    let m: RegExpExecArray | null;
    if ((m = ruleRe.exec(text)) !== null) {
      const c = m[1] as string;
      let list = rules.get(c);
      if (list === undefined) rules.set(c, (list = []));
      list.push(m[2] as string);
      lines.push({ text, chain: c });
    } else if ((m = chainRe.exec(text)) !== null) lines.push({ text, chain: m[1] as string });
    else if ((m = elemRe.exec(text)) !== null) lines.push({ text, container: m[1] as string });
    else lines.push({ text });
  }
  // Service chains equal to the kernel's: dropped from the transaction.
  const keep = new Set<string>();
  let rewritten = 0;
  const sets = kernel.sets;
  for (const [chain, bodies] of rules) {
    if (!isServiceChainName(chain)) continue;
    const k = kernel.chains.get(chain);
    if (k === undefined || k.rules.length !== bodies.length) continue;
    let ids = 0;
    const compiled: (CompiledRule | null)[] = bodies.map((b) => compileRule(fam, b, { next: () => ++ids, anonName: () => '__map%d', elementsById: false }));
    if (compiled.every((c, i) => c !== null && sameRule(c, k.rules[i] as (typeof k.rules)[number], sets))) keep.add(chain);
  }
  for (const chain of rules.keys()) if (isServiceChainName(chain) && !keep.has(chain)) rewritten++;
  // Written chains without rules (none in our layout) are compared by being empty.
  for (const l of lines) {
    if (l.chain !== undefined && isServiceChainName(l.chain) && !rules.has(l.chain) && kernel.chains.get(l.chain)?.rules.length === 0) keep.add(l.chain);
  }
  const elementLines = elementDiff(lines, fam, kernel);
  if ('fallback' in elementLines) return elementLines;
  // Elements last: every set and map (and every chain their verdicts name) exists by then.
  const out: string[] = [];
  for (const l of lines) {
    if ((l.chain !== undefined && keep.has(l.chain)) || l.container !== undefined) continue;
    out.push(l.text);
  }
  out.push(...elementLines.lines);
  const wanted = new Set(lines.map((l) => l.chain).filter((c) => c !== undefined));
  const flushed = new Set(lines.filter((l) => l.text.startsWith('flush chain')).map((l) => l.chain));
  const foreignChains = [...kernel.chains.keys()].filter((c) => !wanted.has(c) && !flushed.has(c) && !isServiceChainName(c));
  for (const c of foreignChains) out.push(`flush chain ${t}${c}`);
  return { transaction: out.length === 0 ? '' : `${out.join('\n')}\n`, foreignChains, keptChains: keep.size, rewrittenChains: rewritten };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Element lines that bring each named container from the kernel's elements to the render's. */
function elementDiff(lines: readonly Line[], fam: NfFamily, kernel: KernelTable): { lines: string[] } | { fallback: string } {
  const byContainer = new Map<string, Line[]>();
  for (const l of lines) {
    if (l.container === undefined) continue;
    let list = byContainer.get(l.container);
    if (list === undefined) byContainer.set(l.container, (list = []));
    list.push(l);
  }
  const out: string[] = [];
  for (const [container, ls] of byContainer) {
    const adds = ls.filter((l) => l.text.startsWith('add element'));
    const k = kernel.sets.get(container);
    if (k === undefined) {
      out.push(...ls.map((l) => l.text));
      continue;
    }
    const compiled = adds.length === 0 ? { commands: [] } : compileTransaction(`${adds.map((l) => l.text).join('\n')}\n`, fam, { max: Number.POSITIVE_INFINITY });
    if ('unsupported' in compiled) return { fallback: `elements of ${container} not compiled (${compiled.unsupported.slice(0, 120)})` };
    const items: string[] = [];
    for (const l of adds) items.push(...(l.text.slice(l.text.indexOf('{ ') + 2, -2).split(' , ')));
    const elems: SetElem[] = [];
    for (const c of compiled.commands) if (c.op === 'add-elements') elems.push(...c.elements);
    if (elems.length !== items.length) return { fallback: `elements of ${container} not compiled one for one` };
    const have = new Set(k.elements.map((e) => elemKey(e.key, e.data, e.userdata)));
    const want = elems.map(ourElemKey);
    const wantSet = new Set(want);
    if ([...have].some((h) => !wantSet.has(h))) {
      // Something we do not want (removed while we were down, or changed): refill the container.
      out.push(...ls.map((l) => l.text));
      continue;
    }
    const missing = items.filter((_, i) => !have.has(want[i] as string));
    for (let i = 0; i < missing.length; i += 1000) out.push(`add element ${fam} ${TABLE} ${container} { ${missing.slice(i, i + 1000).join(' , ')} }`);
  }
  return { lines: out };
}
