// What the daemon's metrics server answers at DAEMON_STATUS_PATH (JSON; upstream's /statusz is the
// component-base text zpage and stays so) and `kube-proxy-ts status` prints: mode, back-end, version,
// per family what the last committed sync programmed and when, failures since start, and the
// health body /healthz serves. Pure.
import type { IPFamily } from '../model/types.ts';
import type { FamilySyncStatus } from '../sync/sync-status.ts';

/** Ours, beside upstream's zpages: a path upstream does not serve, so /statusz keeps upstream's meaning. */
export const DAEMON_STATUS_PATH = '/kubeproxyts/status';

export interface DaemonStatus {
  readonly mode: string;
  /** The iptables back-end in use (legacy or nft); null when the mode writes no iptables rules. */
  readonly backend: string | null;
  /** Whether the mode's proxiers check the kernel against what they wrote (kubeproxyts_ruleset_drift). */
  readonly checksDrift: boolean;
  readonly version: string;
  readonly startedAt: string;
  readonly families: Readonly<Partial<Record<IPFamily, FamilySyncStatus>>>;
  /** /healthz's body: lastUpdated, currentTime and per family healthy/lastUpdated. */
  readonly health: Readonly<Record<string, unknown>>;
}

function healthOf(h: DaemonStatus['health'], family: string): string {
  const per = h['status'] as Record<string, { healthy?: boolean }> | undefined;
  const v = per?.[family]?.healthy;
  return v === undefined ? 'unknown' : v ? 'healthy' : 'UNHEALTHY';
}

/**
 * `status --verify`: per family what the daemon's last drift check (at most one syncPeriod old)
 * found between the kernel and what it wrote; `drifted` when any check found differences (the
 * sync that found them also repaired them: the next check says whether that held).
 */
export function formatVerify(s: DaemonStatus): { text: string; drifted: boolean } {
  const out: string[] = [];
  let drifted = false;
  for (const [family, f] of Object.entries(s.families)) {
    if (f === undefined) continue;
    const d = f.drift;
    if (d === null) out.push(`${family}: drift not checked${s.checksDrift ? ' yet (the first check runs one syncPeriod after start)' : ` (the ${s.mode} mode does not check for drift yet)`}`);
    else if (d.differences.length === 0) out.push(`${family}: no drift (checked ${d.checkedAt})`);
    else {
      drifted = true;
      out.push(`${family}: DRIFT at ${d.checkedAt}, ${d.differences.length} difference${d.differences.length === 1 ? '' : 's'} (a full sync rewrote the table then):`);
      for (const x of d.differences) out.push(`  - ${x}`);
    }
  }
  if (out.length === 0) out.push('no family synced yet');
  return { text: out.join('\n') + '\n', drifted };
}

export function formatStatus(s: DaemonStatus): string {
  const mode = s.backend === null ? s.mode : `${s.mode} (iptables back-end ${s.backend})`;
  const out = [`mode:       ${mode}`, `version:    ${s.version}`, `started:    ${s.startedAt}`];
  const fams = Object.entries(s.families);
  if (fams.length === 0) out.push('families:   none synced yet');
  for (const [family, f] of fams) {
    if (f === undefined) continue;
    out.push(`${family}:`);
    out.push(`  health:     ${healthOf(s.health, family)}`);
    out.push(`  programmed: ${f.services} Services, ${f.servicePorts} ports, ${f.endpoints} endpoints`);
    out.push(`  last sync:  ${f.lastSyncAt === null ? 'never' : `${f.lastSyncAt}, ${f.lastSyncKind ?? ''} in ${f.lastSyncDurationMs ?? 0} ms`}`);
    out.push(`  failures:   ${f.failuresSinceStart} since start`);
  }
  return out.join('\n') + '\n';
}
