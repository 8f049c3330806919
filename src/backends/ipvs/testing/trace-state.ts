// The ipvs trace state bundle (trace/ipvs-trace-state.ts) of a model state, as the daemon would
// leave the node: the planned virtual servers, the ipsets' restore text and the rules as
// iptables-save prints them (built-in chains declared, the ipvs mode's jumps first in them).
// Test-only.
import { argsToRestore } from '../../iptables/jumps.ts';
import type { ProxyState } from '../../../model/types.ts';
import { ipsetEntries, renderIpsetRestore } from '../ipsets.ts';
import { planIpvs } from '../plan.ts';
import { ipvsJumps, renderIpvsRules } from '../rules.ts';
import { IPVS_STATE_FORMAT, type IpvsTraceState } from '../trace/ipvs-trace-state.ts';

const BUILTINS: Record<string, readonly string[]> = { nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], filter: ['INPUT', 'FORWARD', 'OUTPUT'] };

function asSaved(restore: string): string {
  return restore.split('\n').flatMap((line) => {
    if (!line.startsWith('*')) return [line];
    const table = line.slice(1);
    // Each jump is prepended: the last one comes first.
    const jumps = ipvsJumps().filter((j) => j.table === table).reverse().map((j) => `-A ${j.chain} ${argsToRestore(j.args)}`);
    return [line, ...(BUILTINS[table] ?? []).map((c) => `:${c} ACCEPT [0:0]`), ...jumps];
  }).join('\n');
}

export function ipvsTraceStateOf(state: ProxyState, nodeIP: string, scheduler = 'rr', clusterCIDR = '10.244.0.0/16'): string {
  const plan = planIpvs(state, { scheduler, nodePortIPs: [nodeIP], localAddresses: new Set([nodeIP]) });
  const entries = ipsetEntries(state, plan, [nodeIP]);
  const rules = renderIpvsRules(entries, {
    family: state.family, masqueradeMark: '0x00004000', masqueradeAll: false, randomFully: false,
    localDetector: { ifLocal: `-s ${clusterCIDR}`, ifNotLocal: `! -s ${clusterCIDR}` },
  });
  const bundle: IpvsTraceState = {
    format: IPVS_STATE_FORMAT,
    virtualServers: [...plan.virtualServers.values()].map((v) => ({
      address: v.service.address, port: v.service.port, protocol: v.service.protocol, scheduler: v.service.scheduler,
      flags: v.service.flags, timeout: v.service.timeout,
      realServers: [...v.destinations.values()].map((d) => ({ address: d.address, port: d.port, weight: d.weight })),
    })),
    ipsetSave: renderIpsetRestore(state.family, entries.entries),
    iptablesSave: asSaved(rules),
  };
  return JSON.stringify(bundle, null, 1);
}
