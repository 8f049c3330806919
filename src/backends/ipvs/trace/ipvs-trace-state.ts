// The state `kube-proxy-ts trace` reads in the ipvs mode, and what `--state FILE` takes: one JSON
// bundle of the three things the kernel holds for it: the IPVS virtual servers with their real
// servers (the netlink dump), `ipset save` and `iptables-save`. `kube-proxy-ts trace --dump-state`
// on the node prints it. Pure.
import { TraceInputError } from '../../../errors.ts';
import type { IpvsDestination, IpvsService } from '../../../netlink/ipvs.ts';

export const IPVS_STATE_FORMAT = 'kube-proxy-ts/ipvs-trace-state/v1';

export interface TraceRealServer {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
}

export interface TraceVirtualServer {
  readonly address: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly scheduler: string;
  /** IP_VS_SVC_F_* flags (1: persistent). */
  readonly flags: number;
  /** Persistence timeout, seconds. */
  readonly timeout: number;
  readonly realServers: readonly TraceRealServer[];
}

export interface IpvsTraceState {
  readonly format: typeof IPVS_STATE_FORMAT;
  readonly virtualServers: readonly TraceVirtualServer[];
  readonly ipsetSave: string;
  readonly iptablesSave: string;
}

export function recognisesIpvsState(text: string): boolean {
  return text.trimStart().startsWith('{') && text.includes(IPVS_STATE_FORMAT);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseIpvsTraceState(text: string): IpvsTraceState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new TraceInputError(`not an ipvs trace state (JSON: ${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (!isObj(v) || v['format'] !== IPVS_STATE_FORMAT) throw new TraceInputError(`not an ipvs trace state: "format" is not ${IPVS_STATE_FORMAT}`);
  const vs = v['virtualServers'];
  if (!Array.isArray(vs)) throw new TraceInputError('ipvs trace state: "virtualServers" is not a list');
  if (typeof v['ipsetSave'] !== 'string' || typeof v['iptablesSave'] !== 'string') throw new TraceInputError('ipvs trace state: "ipsetSave" and "iptablesSave" must be strings');
  vs.forEach((s: unknown, i) => {
    const ok = isObj(s) && typeof s['address'] === 'string' && typeof s['port'] === 'number' && typeof s['protocol'] === 'string' &&
      typeof s['scheduler'] === 'string' && Array.isArray(s['realServers']);
    if (!ok) throw new TraceInputError(`ipvs trace state: virtualServers[${i}] needs address, port, protocol, scheduler and realServers`);
  });
  return v as unknown as IpvsTraceState;
}

/** A virtual server and its real servers as the netlink dump decodes them (ipvs-decode.ts), for the bundle. */
export function traceVirtualServer(s: IpvsService, dests: readonly IpvsDestination[]): TraceVirtualServer {
  return {
    address: s.address, port: s.port, protocol: s.protocol, scheduler: s.scheduler, flags: s.flags, timeout: s.timeout,
    realServers: dests.map((x) => ({ address: x.address, port: x.port, weight: x.weight })),
  };
}
