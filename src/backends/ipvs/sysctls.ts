// The kernel parameters upstream's ipvs mode sets at start-up (pkg/proxy/ipvs/proxier.go
// NewProxier), each with the reason an operator reading the "sysctl changed" log needs. Pure: the
// applier writes them through src/system/sysctl.ts (only when different, logged).

export interface SysctlSetting {
  readonly key: string;
  readonly value: string;
  readonly why: string;
}

export interface IpvsSysctlOptions {
  /** `uname -r`, e.g. `6.1.0-18-amd64`. */
  readonly kernelRelease: string;
  readonly strictARP: boolean;
}

/** [major, minor] of a kernel release; [0, 0] when unreadable. */
export function kernelVersion(release: string): readonly [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

const atLeast = (v: readonly [number, number], major: number, minor: number): boolean => v[0] > major || (v[0] === major && v[1] >= minor);

export interface IpvsSysctlPlan {
  readonly settings: readonly SysctlSetting[];
  /** Set when conn_reuse_mode cannot be tuned (kernel < 4.1), for a warning. */
  readonly warning?: string;
}

export function ipvsSysctls(o: IpvsSysctlOptions): IpvsSysctlPlan {
  const settings: SysctlSetting[] = [
    { key: 'net/ipv4/vs/conntrack', value: '1', why: 'keep conntrack entries for IPVS flows so the masquerade rules see them' },
  ];
  const v = kernelVersion(o.kernelRelease);
  let warning: string | undefined;
  // conn_reuse_mode=1 drops the SYN of a reused source port on 4.1 ≤ kernel < 5.9 (1 s connect
  // delays, kubernetes#70747); 5.9 fixed it, so it stays at the default there (kubernetes#93297).
  if (!atLeast(v, 4, 1)) warning = `kernel ${o.kernelRelease} is older than 4.1: net/ipv4/vs/conn_reuse_mode cannot be set`;
  else if (!atLeast(v, 5, 9)) settings.push({ key: 'net/ipv4/vs/conn_reuse_mode', value: '0', why: 'avoid 1 s delays on reused source ports (kernel < 5.9)' });
  settings.push(
    { key: 'net/ipv4/vs/expire_nodest_conn', value: '1', why: 'flows to a deleted real server end at once instead of hanging' },
    { key: 'net/ipv4/vs/expire_quiescent_template', value: '1', why: 'ClientIP affinity leaves weight-0 (terminating) real servers' },
    { key: 'net/ipv4/ip_forward', value: '1', why: 'IPVS masquerade forwards to pods' },
  );
  if (o.strictARP) {
    // VIPs on kube-ipvs0 are local addresses: without these every node answers ARP for them (metallb#153).
    settings.push(
      { key: 'net/ipv4/conf/all/arp_ignore', value: '1', why: 'strictARP: answer ARP only for addresses on the receiving interface' },
      { key: 'net/ipv4/conf/all/arp_announce', value: '2', why: 'strictARP: never announce VIPs as ARP source' },
    );
  }
  return warning === undefined ? { settings } : { settings, warning };
}
