// Semantic checks on a complete ProxyConfig, after flags and file are merged, following upstream's
// pkg/proxy/apis/config/validation/validation.go rule by rule. Every problem is a ConfigError whose
// path is the v1alpha1 field (`iptables.masqueradeBit`); all problems are returned, not just the
// first, so an operator fixes the file once.
import { validateModeGate, type ModeFeatureGate } from './mode-warnings.ts';
import { ConfigError } from '../errors.ts';
import { formatGoDuration } from './duration.ts';
import { validateFeatureGates } from './feature-gates.ts';
import { PROXY_MODES } from './decode.ts';
import { cidrFamily, ipFamily } from './net.ts';
import type { HostPort, ProxyConfig } from './types.ts';

/** Checks of one mode's own config section, by mode name (only the configured mode's run). */
interface Checks {
  fail(path: string, reason: string): void;
  periods(prefix: string, sync: number, min: number): void;
  nonNegative(path: string, value: number, isDuration: boolean): void;
  bit(path: string, value: number): void;
}
type SectionCheck = (c: ProxyConfig, k: Checks) => void;

/**
 * IPVS schedulers the kernel ships (net/netfilter/ipvs/ip_vs_*.c). Upstream dropped its own list
 * when newer schedulers appeared; we keep the kernel's so a typo fails at start, not at sync.
 */
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos'] as const;

const IPTABLES_BACKENDS = ['auto', 'legacy', 'nft'];
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * `modes`: the modes this build implements, the registry's names (src/backends/modes.ts); a mode
 * upstream has that is not among them parses but is refused here. `modeGates`: each registered
 * mode's feature gate (a mode whose gate is off is refused), also from the registry.
 */
export function validateConfig(
  c: ProxyConfig,
  modes: readonly string[],
  modeGates: ReadonlyMap<string, ModeFeatureGate | undefined> = new Map(),
): ConfigError[] {
  const errs: ConfigError[] = [];
  const fail = (path: string, reason: string): void => {
    errs.push(new ConfigError(path, reason));
  };
  const dur = formatGoDuration;
  const periods = (prefix: string, sync: number, min: number): void => {
    if (sync <= 0) fail(`${prefix}.syncPeriod`, `must be greater than 0, got ${dur(sync)}`);
    if (min < 0) fail(`${prefix}.minSyncPeriod`, `must be greater than or equal to 0, got ${dur(min)}`);
    if (min > sync) fail(`${prefix}.syncPeriod`, `must be greater than or equal to ${prefix}.minSyncPeriod (${dur(min)}), got ${dur(sync)}`);
  };
  const nonNegative = (path: string, value: number, isDuration: boolean): void => {
    if (value < 0) fail(path, `must be greater than or equal to 0, got ${isDuration ? dur(value) : value}`);
  };
  const bit = (path: string, value: number): void => {
    if (!Number.isInteger(value) || value < 0 || value > 31) fail(path, `must be within [0,31], got ${value}`);
  };

  if (!modes.includes(c.mode)) {
    if ((PROXY_MODES as readonly string[]).includes(c.mode)) fail('mode', `"${c.mode}" is not implemented yet (use iptables or ipvs)`);
    else fail('mode', `must be one of ${modes.join(', ')}, got "${String(c.mode)}"`);
  }

  // Upstream validates the iptables section in every mode (ipvs mode uses its masquerade bit too).
  bit('iptables.masqueradeBit', c.iptables.masqueradeBit);
  periods('iptables', c.iptables.syncPeriodMs, c.iptables.minSyncPeriodMs);
  if (!IPTABLES_BACKENDS.includes(c.iptables.backend)) {
    fail('--iptables-backend', `must be one of ${IPTABLES_BACKENDS.join(', ')}, got "${String(c.iptables.backend)}"`);
  }

  if (Object.hasOwn(SECTION_CHECKS, c.mode)) SECTION_CHECKS[c.mode]?.(c, { fail, periods, nonNegative, bit });

  nonNegative('conntrack.maxPerCore', c.conntrack.maxPerCore, false);
  nonNegative('conntrack.min', c.conntrack.min, false);
  nonNegative('conntrack.tcpEstablishedTimeout', c.conntrack.tcpEstablishedTimeoutMs, true);
  nonNegative('conntrack.tcpCloseWaitTimeout', c.conntrack.tcpCloseWaitTimeoutMs, true);
  nonNegative('conntrack.udpTimeout', c.conntrack.udpTimeoutMs, true);
  nonNegative('conntrack.udpStreamTimeout', c.conntrack.udpStreamTimeoutMs, true);

  nonNegative('clientConnection.burst', c.clientConnection.burst, false);

  if (c.oomScoreAdj < -1000 || c.oomScoreAdj > 1000) fail('oomScoreAdj', `must be within [-1000,1000], got ${c.oomScoreAdj}`);
  if (c.configSyncPeriodMs <= 0) fail('configSyncPeriod', `must be greater than 0, got ${dur(c.configSyncPeriodMs)}`);
  if (ipFamily(c.bindAddress) === null) fail('bindAddress', `must be a valid IP address, got "${c.bindAddress}"`);
  hostPort('healthzBindAddress', c.healthzBindAddress, fail);
  hostPort('metricsBindAddress', c.metricsBindAddress, fail);

  validateClusterCIDRs(c.clusterCIDRs, fail);
  validateNodePortAddresses(c.nodePortAddresses, fail);

  if (c.detectLocalMode === 'BridgeInterface' && c.detectLocal.bridgeInterface === '') {
    fail('detectLocal.bridgeInterface', 'must not be empty when detectLocalMode is BridgeInterface');
  }
  if (c.detectLocalMode === 'InterfaceNamePrefix' && c.detectLocal.interfaceNamePrefix === '') {
    fail('detectLocal.interfaceNamePrefix', 'must not be empty when detectLocalMode is InterfaceNamePrefix');
  }

  // Upstream applies the gates (featuregate.SetFromMap) before validating; its errors end start-up too.
  errs.push(...validateFeatureGates(c.featureGates));
  errs.push(...validateModeGate(c, modeGates));

  if (!Number.isInteger(c.logging.verbosity) || c.logging.verbosity < 0) {
    fail('logging.verbosity', `must be a whole number >= 0, got ${c.logging.verbosity}`);
  }
  if (c.logging.level !== undefined && !LOG_LEVELS.includes(c.logging.level)) {
    fail('--log-level', `must be one of ${LOG_LEVELS.join(', ')}, got "${String(c.logging.level)}"`);
  }
  return errs;
}

/** The sections upstream validates only in their own mode (validation.go: `if config.Mode == ...`). */
const SECTION_CHECKS: Readonly<Partial<Record<string, SectionCheck>>> = {
  ipvs: (c, k) => {
    k.periods('ipvs', c.ipvs.syncPeriodMs, c.ipvs.minSyncPeriodMs);
    k.nonNegative('ipvs.tcpTimeout', c.ipvs.tcpTimeoutMs, true);
    k.nonNegative('ipvs.tcpFinTimeout', c.ipvs.tcpFinTimeoutMs, true);
    k.nonNegative('ipvs.udpTimeout', c.ipvs.udpTimeoutMs, true);
    if (c.ipvs.scheduler !== '' && !(IPVS_SCHEDULERS as readonly string[]).includes(c.ipvs.scheduler)) {
      k.fail('ipvs.scheduler', `must be one of ${IPVS_SCHEDULERS.join(', ')} or empty (rr), got "${c.ipvs.scheduler}"`);
    }
    c.ipvs.excludeCIDRs.forEach((cidr, i) => {
      if (cidrFamily(cidr) === null) k.fail(`ipvs.excludeCIDRs[${i}]`, `must be a valid CIDR, got "${cidr}"`);
    });
  },
  nftables: (c, k) => {
    k.bit('nftables.masqueradeBit', c.nftables.masqueradeBit);
    k.periods('nftables', c.nftables.syncPeriodMs, c.nftables.minSyncPeriodMs);
  },
};

function hostPort(path: string, hp: HostPort | null, fail: (path: string, reason: string) => void): void {
  if (hp === null) return;
  if (ipFamily(hp.host) === null) fail(path, `must be IP:port with a valid IP, got host "${hp.host}"`);
  if (!Number.isInteger(hp.port) || hp.port < 1 || hp.port > 65535) fail(path, `must have a port within [1,65535], got ${hp.port}`);
}

function validateClusterCIDRs(cidrs: readonly string[], fail: (path: string, reason: string) => void): void {
  const joined = cidrs.join(',');
  if (cidrs.length > 2) {
    fail('clusterCIDR', `only one CIDR or a dual-stack pair is allowed (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48), got "${joined}"`);
    return;
  }
  const families = cidrs.map(cidrFamily);
  const bad = cidrs.find((_, i) => families[i] === null);
  if (bad !== undefined) fail('clusterCIDR', `must be a valid CIDR (e.g. 10.100.0.0/16), got "${bad}"`);
  else if (cidrs.length === 2 && families[0] === families[1]) {
    fail('clusterCIDR', `must be a valid dual-stack pair, one IPv4 and one IPv6 (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48), got "${joined}"`);
  }
}

/** CIDRs, or 'primary' alone (pkg/proxy/apis/config NodePortAddressesPrimary). */
function validateNodePortAddresses(addrs: readonly string[], fail: (path: string, reason: string) => void): void {
  addrs.forEach((addr, i) => {
    const path = `nodePortAddresses[${i}]`;
    if (addr === 'primary') {
      if (addrs.length > 1) fail(path, `"primary" cannot be combined with CIDRs`);
    } else if (cidrFamily(addr) === null) {
      fail(path, `must be a valid CIDR or "primary", got "${addr}"`);
    }
  });
}
