// The top-level chains written on every sync (upstream syncProxyRules, before and after the
// per-service loop): KUBE-POSTROUTING, KUBE-MARK-MASQ, the KUBE-SERVICES -> KUBE-NODEPORTS
// tail rule(s), and filter KUBE-FORWARD.
import type { NodePortSelection, RenderOptions } from './options.ts';

export const TOP_FILTER_CHAINS = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'] as const;
export const TOP_NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'] as const;

const NODEPORTS_COMMENT = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';

export function renderPostrouting(rules: string[], opts: RenderOptions): void {
  const mark = opts.masqueradeMark;
  rules.push(`-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
  rules.push(`-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`);
  rules.push(`-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${opts.randomFully ? ' --random-fully' : ''}`);
}

export function renderMarkMasq(rules: string[], opts: RenderOptions): void {
  rules.push(`-A KUBE-MARK-MASQ -j MARK --or-mark ${opts.masqueradeMark}`);
}

/** The tail of nat KUBE-SERVICES; it must stay the last rule of that chain. */
export function renderNodePortsJump(natRules: string[], _opts: RenderOptions, sel: NodePortSelection, isIPv6: boolean, localhostNodePorts: boolean): void {
  if (sel.matchAll) {
    // Localhost NodePorts never work on IPv6, and on IPv4 only with route_localnet.
    const notLocalhost = isIPv6 ? ' ! -d ::1/128' : localhostNodePorts ? '' : ' ! -d 127.0.0.0/8';
    natRules.push(`-A KUBE-SERVICES -m comment --comment ${NODEPORTS_COMMENT} -m addrtype --dst-type LOCAL${notLocalhost} -j KUBE-NODEPORTS`);
    return;
  }
  for (const ip of sel.addresses) {
    const loopback = isIPv6 ? ip === '::1' : ip.startsWith('127.');
    if (loopback && (isIPv6 || !localhostNodePorts)) continue;
    natRules.push(`-A KUBE-SERVICES -m comment --comment ${NODEPORTS_COMMENT} -d ${ip} -j KUBE-NODEPORTS`);
  }
}

export function renderForwardRules(filterRules: string[], opts: RenderOptions): void {
  const mark = opts.masqueradeMark;
  // INVALID packets would reset connections unless tcp_be_liberal is set (kubernetes#74839, #117924).
  if (!opts.conntrackTCPLiberal) {
    const acct = opts.nfacct.invalidDropped ? ' -m nfacct --nfacct-name ct_state_invalid_dropped_pkts' : '';
    filterRules.push(`-A KUBE-FORWARD -m conntrack --ctstate INVALID${acct} -j DROP`);
  }
  // Marked (NodePort) traffic is forwarded even when FORWARD's policy is DROP.
  filterRules.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filterRules.push('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
}
