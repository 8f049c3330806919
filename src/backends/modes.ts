// The registry of proxy modes: one line per mode. main.ts and src/wiring/ look the configured mode
// up here and call its entry (mode-entry.ts); --proxy-mode validation accepts exactly these names;
// a daemon starting in one mode recognises every other registered mode's leftovers. Adding a mode
// is a folder under src/backends/ exporting a ModeEntry, plus its line below. This module wires
// the entries (which reach the kernel) and is not part of the pure core.
import type { ModeConfigDefaults } from '../config/merge.ts';
import type { ModeFeatureGate } from '../config/mode-warnings.ts';
import { KubeProxyError } from '../errors.ts';
import type { ProxyMode } from '../model/types.ts';
import type { ChainsByMode } from './common/foreign-chains.ts';
import { iptablesMode } from './iptables/io/iptables-mode.ts';
import { ipvsMode } from './ipvs/io/ipvs-mode.ts';
import { nftablesMode } from './nftables/io/nftables-mode.ts';
import type { ModeEntry } from './mode-entry.ts';
import { userspaceMode } from './userspace/io/userspace-mode.ts';

export type { ModeEntry } from './mode-entry.ts';

export const MODES: readonly ModeEntry[] = [
  iptablesMode,
  ipvsMode,
  userspaceMode,
  nftablesMode,
];

/** The names --proxy-mode accepts (the config validation's list). */
export const REGISTERED_MODES: readonly ProxyMode[] = MODES.map((m) => m.name);

/** Each registered mode's feature gate (undefined: none), for config validation. */
export const MODE_GATES: ReadonlyMap<string, ModeFeatureGate | undefined> = new Map(MODES.map((m) => [m.name, m.featureGate]));

/** Each registered mode's own config defaults, for resolveConfig. */
export const MODE_CONFIG_DEFAULTS: ReadonlyMap<string, ModeConfigDefaults | undefined> = new Map(MODES.map((m) => [m.name, m.configDefaults]));

/** The entry of `name`; a mode without one (parsed, as upstream's, but not built here) is refused. */
export function modeEntry(name: ProxyMode): ModeEntry {
  const entry = MODES.find((m) => m.name === name);
  if (entry === undefined) throw new KubeProxyError('KP_ERR_CONFIG_INVALID', `mode: "${name}" is not implemented here (use ${REGISTERED_MODES.join(', ')})`);
  return entry;
}

/** Every registered mode's iptables chains, for recognising leftovers (common/foreign-chains.ts). */
export function chainsByMode(): ChainsByMode {
  const out = new Map<string, NonNullable<ModeEntry['leftovers']['chains']>>();
  for (const m of MODES) if (m.leftovers.chains) out.set(m.name, m.leftovers.chains);
  return out;
}
