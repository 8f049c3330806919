// What the daemon says about its mode at start, as upstream kube-proxy v1.35+ does in
// createProxier: for a deprecated mode (ipvs: its registry entry carries the deprecation), an
// error-level log line and a Warning Event `IPVSDeprecation` on the Node (when there is an API
// server to record it; with --manifests there is none). The default-mode warning is a
// configuration warning (config/mode-warnings.ts).
import type { ModeDeprecation } from '../config/mode-warnings.ts';
import type { Logger } from '../model/logger.ts';
import type { ProxyMode } from '../model/types.ts';
import { nodeEvent, postNodeEvent, type EventPoster } from './node-events.ts';

export interface ModeAnnouncement {
  readonly mode: ProxyMode;
  /** The mode's deprecation (ModeEntry.deprecation); absent: nothing to say. */
  readonly deprecation?: ModeDeprecation | undefined;
  readonly nodeName: string;
  readonly hostname: string;
  readonly logger: Logger;
  /** Absent: no API server (--manifests), so no Event. */
  readonly events?: EventPoster | undefined;
  readonly now?: () => number;
}

export async function announceMode(a: ModeAnnouncement): Promise<void> {
  const d = a.deprecation;
  if (d === undefined) return;
  a.logger.error({ mode: a.mode }, d.message);
  if (a.events === undefined) return;
  const event = nodeEvent({
    nodeName: a.nodeName, hostname: a.hostname, nowMs: (a.now ?? Date.now)(), type: 'Warning',
    reason: d.reason, action: d.action, note: d.message,
  });
  await postNodeEvent(a.events, event, a.logger);
}
