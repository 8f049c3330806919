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

/** A feature gate that turns a whole mode off (a registry entry's `featureGate`). */
export interface ModeFeatureGate {
  readonly name: string;
  /** The gate's default in this release. */
  readonly default: boolean;
}

/** KubeProxyIPVS: the ipvs registry entry carries it. */
export const IPVS_GATE: ModeFeatureGate = { name: IPVS_FEATURE_GATE, default: IPVS_FEATURE_GATE_DEFAULT };

/** Whether a mode behind `gate` may run: the gate as set, else its default. */
export function modeGateEnabled(gate: ModeFeatureGate | undefined, gates: Readonly<Record<string, boolean>>): boolean {
  return gate === undefined || (gates[gate.name] ?? gate.default);
}

/**
 * The validation error for a mode whose gate is off (upstream exits listing the valid modes).
 * `modeGates`: each registered mode's gate (undefined: none), from the registry.
 */
export function validateModeGate(
  c: Pick<ProxyConfig, 'mode' | 'featureGates'>,
  modeGates: ReadonlyMap<string, ModeFeatureGate | undefined>,
): ConfigError[] {
  const gate = modeGates.get(c.mode);
  if (modeGateEnabled(gate, c.featureGates)) return [];
  const valid = [...modeGates].filter(([, g]) => modeGateEnabled(g, c.featureGates)).map(([name]) => name);
  return [new ConfigError('mode', `"${c.mode}" is disabled by the ${gate?.name ?? ''} feature gate (valid modes: ${valid.join(', ')})`)];
}

/** featuregate.Set's warning for a deprecated gate that is set at all. */
export function deprecatedGateWarnings(gates: Readonly<Record<string, boolean>>): string[] {
  const v = gates[IPVS_FEATURE_GATE];
  return v === undefined ? [] : [`Setting deprecated feature gate ${IPVS_FEATURE_GATE}=${String(v)}. It will be removed in a future release.`];
}
