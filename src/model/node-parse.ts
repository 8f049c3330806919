// V1Node → NodeInfo: what the proxiers need of their own node (topology zone for hints, pod
// CIDRs for detect-local, and whether it should still receive LB traffic: upstream
// pkg/proxy/healthcheck/proxy_health.go fails /livez's LB check for a deleted node or one
// tainted ToBeDeletedByClusterAutoscaler).
import type { V1Node } from '@kubernetes/client-node';
import { ObjectError } from '../errors.ts';
import { parseCIDR } from './ip.ts';
import type { NodeInfo } from './types.ts';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

export function parseNode(node: V1Node): { node: NodeInfo; errors: ObjectError[] } {
  const name = node.metadata?.name ?? '';
  const errors: ObjectError[] = [];
  const labels = { ...(node.metadata?.labels ?? {}) };
  const raw = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  const podCIDRs: string[] = [];
  for (const c of raw) {
    const parsed = parseCIDR(c);
    if (parsed === undefined || !c.includes('/')) errors.push(new ObjectError(`Node ${name}`, `spec.podCIDRs: invalid CIDR ${JSON.stringify(c)}`));
    else podCIDRs.push(parsed.cidr);
  }
  const deleting = node.metadata?.deletionTimestamp !== undefined && node.metadata.deletionTimestamp !== null;
  const tainted = (node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
  return { node: { name, labels, zone: labels[ZONE_LABEL] ?? '', podCIDRs, eligible: !deleting && !tainted }, errors };
}

/** The NodeInfo used while the Node object is unknown (manifests mode, or before it arrives). */
export function defaultNode(name: string): NodeInfo {
  return { name, labels: {}, zone: '', podCIDRs: [], eligible: true };
}
