// The live state `kube-proxy-ts trace` reads in the ipvs mode (and `trace --dump-state` prints):
// the IPVS virtual servers and real servers of the family over generic netlink, `ipset save` and
// the iptables-save of the back-end holding the ipvs mode's rules, as one JSON bundle
// (trace/ipvs-trace-state.ts). Null when the kernel has no IPVS or holds none of this mode's state.
import type { TraceReadDeps } from '../../mode-entry.ts';
import { IpvsClient } from '../../../system/ipvs-client.ts';
import { readSavedHolding } from '../../iptables/io/read-trace-state.ts';
import { IPVS_STATE_FORMAT, traceVirtualServer, type IpvsTraceState, type TraceVirtualServer } from '../trace/ipvs-trace-state.ts';

/** The ipvs mode's nat rules: KUBE-SERVICES beside KUBE-LOAD-BALANCER (the iptables mode has no such chain). */
export function holdsIpvsRules(saved: string): boolean {
  const nat = saved.indexOf('*nat');
  return nat >= 0 && saved.includes(':KUBE-SERVICES ', nat) && saved.includes(':KUBE-LOAD-BALANCER ', nat);
}

async function virtualServers(d: TraceReadDeps): Promise<TraceVirtualServer[] | null> {
  let client: IpvsClient;
  try {
    client = await IpvsClient.open();
  } catch (err) {
    // No IPVS in this kernel (module absent): this mode holds nothing here.
    void err;
    return null;
  }
  try {
    const out: TraceVirtualServer[] = [];
    for (const s of await client.listServices()) {
      if (s.family !== d.family) continue;
      out.push(traceVirtualServer(s, await client.listDestinations(s)));
    }
    return out;
  } finally {
    client.close();
  }
}

export async function readIpvsTraceState(d: TraceReadDeps): Promise<string | null> {
  const vs = await virtualServers(d);
  if (vs === null) return null;
  const iptablesSave = await readSavedHolding(d, holdsIpvsRules);
  if (iptablesSave === null && vs.length === 0) return null;
  const ipsetSave = (await d.exec('ipset', ['save'], { timeoutMs: 30_000 })).stdout;
  const bundle: IpvsTraceState = { format: IPVS_STATE_FORMAT, virtualServers: vs, ipsetSave, iptablesSave: iptablesSave ?? '' };
  return `${JSON.stringify(bundle, null, 1)}\n`;
}
