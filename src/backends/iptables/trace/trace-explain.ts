// Reading a traced path back into what an operator asks: which Service port it matched and why the
// source was masqueraded, from the comments and chain names our renderer writes (render-service.ts,
// render-chains.ts; upstream's, so a node programmed by kube-proxy reads the same). Pure.
import type { CompiledRule } from './rule-compile.ts';

const KINDS = /^(\S+) (cluster IP|external IP|loadbalancer IP|has no endpoints|has no local endpoints|health check node port)$/;
const FIREWALL = /^(\S+) traffic not accepted by \S+$/;
const BARE = /^[^\s/]+\/\S+$/;

/** The first rule on the path that names a Service port, as `ns/name:port` and how it matched. */
export function serviceOf(rules: readonly CompiledRule[]): { name: string; matchedAs: string } | null {
  for (const r of rules) {
    const k = KINDS.exec(r.comment);
    if (k !== null) {
      const how = k[2] as string;
      const matchedAs = how.startsWith('has no') ? (r.chain === 'KUBE-EXTERNAL-SERVICES' ? 'external address or node port' : 'cluster IP') : how;
      return { name: k[1] as string, matchedAs };
    }
    const fw = FIREWALL.exec(r.comment);
    if (fw !== null) return { name: fw[1] as string, matchedAs: 'loadbalancer IP' };
    if (r.chain === 'KUBE-NODEPORTS' && BARE.test(r.comment)) return { name: r.comment, matchedAs: 'node port' };
  }
  return null;
}

/** Why the rule that jumped to KUBE-MARK-MASQ asked for masquerade. */
export function explainMasquerade(rules: readonly CompiledRule[]): string {
  const r = rules.find((x) => x.target.kind === 'jump' && x.target.chain === 'KUBE-MARK-MASQ');
  if (r === undefined) return 'yes';
  if (r.chain.startsWith('KUBE-SEP-')) return 'yes, hairpin (the endpoint connects to itself through the Service)';
  if (r.chain.startsWith('KUBE-EXT-')) {
    if (r.comment.startsWith('masquerade LOCAL')) return 'yes, node-originated traffic to an external address';
    return 'yes, external traffic with externalTrafficPolicy Cluster (replies must return through this node)';
  }
  const cidr = /! -s (\S+)/.exec(r.raw)?.[1];
  if (cidr !== undefined) return `yes, the source is outside the cluster CIDR ${cidr}`;
  const iface = /! -i (\S+)/.exec(r.raw)?.[1];
  if (iface !== undefined) return `yes, the packet did not arrive on a pod interface (${iface})`;
  if (r.chain.startsWith('KUBE-SVC-')) return 'yes, masqueradeAll';
  return `yes (${r.raw})`;
}
