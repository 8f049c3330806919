// The conntrack sysctls kube-proxy sets at start-up from `conntrack.*`
// (cmd/kube-proxy/app/server_linux.go setupConntrack / getConntrackMax): the table size scaled by
// CPUs, and the TCP/UDP timeouts. A zero value means "leave the kernel's value", as upstream.
// nf_conntrack's hashsize (a module parameter, global to the host) is left to the kernel.
import type { ProxyConfig } from './types.ts';

export interface SysctlSetting {
  readonly key: string;
  readonly value: string;
}

/** upstream getConntrackMax: maxPerCore × CPUs, at least `min`; 0 (leave alone) when maxPerCore is 0. */
export function conntrackMax(c: ProxyConfig['conntrack'], numCPU: number): number {
  if (c.maxPerCore <= 0) return 0;
  return Math.max(c.maxPerCore * numCPU, c.min);
}

const seconds = (ms: number): string => String(Math.floor(ms / 1000));

export function conntrackSysctls(c: ProxyConfig['conntrack'], numCPU: number): SysctlSetting[] {
  const out: SysctlSetting[] = [];
  const max = conntrackMax(c, numCPU);
  if (max > 0) out.push({ key: 'net/netfilter/nf_conntrack_max', value: String(max) });
  if (c.tcpEstablishedTimeoutMs > 0) {
    out.push({ key: 'net/netfilter/nf_conntrack_tcp_timeout_established', value: seconds(c.tcpEstablishedTimeoutMs) });
  }
  if (c.tcpCloseWaitTimeoutMs > 0) {
    out.push({ key: 'net/netfilter/nf_conntrack_tcp_timeout_close_wait', value: seconds(c.tcpCloseWaitTimeoutMs) });
  }
  if (c.tcpBeLiberal) out.push({ key: 'net/netfilter/nf_conntrack_tcp_be_liberal', value: '1' });
  if (c.udpTimeoutMs > 0) out.push({ key: 'net/netfilter/nf_conntrack_udp_timeout', value: seconds(c.udpTimeoutMs) });
  if (c.udpStreamTimeoutMs > 0) {
    out.push({ key: 'net/netfilter/nf_conntrack_udp_timeout_stream', value: seconds(c.udpStreamTimeoutMs) });
  }
  return out;
}
