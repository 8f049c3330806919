// The first full sync on a populated table (restart, recovery): rendered as a full sync that
// knows the kernel's objects, then cut down to what differs (plan-adoption.ts). The memo is the
// full render's, so the next partial sync diffs from exactly what a full sync leaves. Pure.
import type { NfFamily } from '../compile/values.ts';
import { renderTransaction, type NftRenderInput, type NftRenderResult } from '../render.ts';
import type { KernelTable } from './kernel-table.ts';
import { planAdoption } from './plan-adoption.ts';

export interface AdoptedRender {
  readonly result: NftRenderResult;
  /** The full render's transaction: what the table holds once the adoption's is applied. */
  readonly fullTransaction: string;
  readonly keptChains: number;
  readonly rewrittenChains: number;
}

export function renderAdoption(input: NftRenderInput, fam: NfFamily, kernel: KernelTable): AdoptedRender | { readonly fallback: string } {
  const r = renderTransaction({
    ...input,
    state: { ...input.state, full: true },
    recreateBaseChains: false,
    replaceTable: false,
    existing: { chains: [...kernel.chains.keys()], sets: [...kernel.sets.keys()].filter((s) => !s.startsWith('__')) },
  });
  const plan = planAdoption(r.transaction, fam, kernel);
  if ('fallback' in plan) return plan;
  for (const c of plan.foreignChains) r.memo.staleChains.set(c, input.nowMs);
  const lines = plan.transaction === '' ? 0 : plan.transaction.split('\n').length - 1;
  return {
    result: { ...r, transaction: plan.transaction, stats: { ...r.stats, lines } },
    fullTransaction: r.transaction,
    keptChains: plan.keptChains,
    rewrittenChains: plan.rewrittenChains,
  };
}
