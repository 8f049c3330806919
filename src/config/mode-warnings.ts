// The warnings upstream kube-proxy v1.35-v1.37 gives about the proxy mode, and its KubeProxyIPVS
// feature gate. Pure.
//  - ipvs is deprecated (KEP-5495, v1.35 kubernetes#134539): an error-level log line and a Warning
//    Event `IPVSDeprecation` (action `StartKubeProxy`) on the Node; v1.37 words it with the plan.
//  - The mode left to its default (v1.37 kubernetes#139957, KEP-5343): a warning that the default
//    will change from iptables to nftables.
//  - KubeProxyIPVS (v1.37 kubernetes#139397): default true and deprecated; false turns the ipvs mode
//    off (the plan: default false in v1.40, locked in v1.43).
import { ConfigError } from '../errors.ts';
import type { ProxyConfig } from './types.ts';

export const IPVS_FEATURE_GATE = 'KubeProxyIPVS';
/** The gate's default in v1.37. */
export const IPVS_FEATURE_GATE_DEFAULT = true;

export const IPVS_DEPRECATION_REASON = 'IPVSDeprecation';
export const IPVS_DEPRECATION_ACTION = 'StartKubeProxy';
export const IPVS_DEPRECATION_MESSAGE =
  "The ipvs proxier has been deprecated and will be disabled by default in Kubernetes 1.40 and removed in Kubernetes 1.43. Migrate to the 'nftables' proxier instead.";

/** A mode's deprecation as upstream announces it at start: an error-level log line and a Warning Event on the Node. */
export interface ModeDeprecation {
  readonly message: string;
  readonly reason: string;
  readonly action: string;
}

/** ipvs (KEP-5495): the ipvs registry entry carries this. */
export const IPVS_DEPRECATION: ModeDeprecation = {
  message: IPVS_DEPRECATION_MESSAGE,
  reason: IPVS_DEPRECATION_REASON,
  action: IPVS_DEPRECATION_ACTION,
};

export const DEFAULT_MODE_WARNING =
  'no proxy mode is set, so the default (iptables) is used; the default will change to nftables in a future release: set mode (--proxy-mode) explicitly';

/** Whether the ipvs mode may run: the KubeProxyIPVS gate, on unless set to false. */
export function ipvsEnabled(gates: Readonly<Record<string, boolean>>): boolean {
  return gates[IPVS_FEATURE_GATE] ?? IPVS_FEATURE_GATE_DEFAULT;
}

/** The validation error for `mode: ipvs` with the gate off (upstream exits listing the valid modes). */
export function validateIpvsGate(c: Pick<ProxyConfig, 'mode' | 'featureGates'>): ConfigError[] {
  if (c.mode !== 'ipvs' || ipvsEnabled(c.featureGates)) return [];
  return [new ConfigError('mode', `"ipvs" is disabled by the ${IPVS_FEATURE_GATE} feature gate (valid modes: iptables, userspace)`)];
}

/** featuregate.Set's warning for a deprecated gate that is set at all. */
export function deprecatedGateWarnings(gates: Readonly<Record<string, boolean>>): string[] {
  const v = gates[IPVS_FEATURE_GATE];
  return v === undefined ? [] : [`Setting deprecated feature gate ${IPVS_FEATURE_GATE}=${String(v)}. It will be removed in a future release.`];
}
