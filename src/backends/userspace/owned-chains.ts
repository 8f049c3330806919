// The chains the userspace mode writes, for recognising its leftovers when another mode starts
// (src/backends/common/foreign-chains.ts). Pure.
import type { ModeChains } from '../common/foreign-chains.ts';
import { FILTER_JUMPS } from './filter-rules.ts';
import { JUMPS } from './portal-rules.ts';

export const USERSPACE_CHAINS: ModeChains = {
  fixed: {
    nat: JUMPS.filter((j) => j.table === 'nat').map((j) => j.target),
    filter: [...new Set(JUMPS.filter((j) => j.table === 'filter').map((j) => j.target))],
    mangle: [],
  },
  generated: {},
  // The jumps into the filter chains it shares with the iptables mode (filter-rules.ts); every
  // other userspace jump targets a userspace-only chain, so the chain rule removes them.
  jumps: FILTER_JUMPS,
};
