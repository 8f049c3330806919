// What the daemon says about its mode at start, as upstream kube-proxy v1.35+ does in
// createProxier: in ipvs mode, the deprecation as an error-level log line and as a Warning Event
// `IPVSDeprecation` on the Node (when there is an API server to record it; with --manifests there
// is none). The default-mode warning is a configuration warning (config/mode-warnings.ts).
import { IPVS_DEPRECATION_ACTION, IPVS_DEPRECATION_MESSAGE, IPVS_DEPRECATION_REASON } from '../config/mode-warnings.ts';
import type { Logger } from '../model/logger.ts';
import type { ProxyMode } from '../model/types.ts';
import { nodeEvent, postNodeEvent, type EventPoster } from './node-events.ts';

export interface ModeAnnouncement {
  readonly mode: ProxyMode;
  readonly nodeName: string;
  readonly hostname: string;
  readonly logger: Logger;
  /** Absent: no API server (--manifests), so no Event. */
  readonly events?: EventPoster | undefined;
  readonly now?: () => number;
}

export async function announceMode(a: ModeAnnouncement): Promise<void> {
  if (a.mode !== 'ipvs') return;
  a.logger.error({ mode: a.mode }, IPVS_DEPRECATION_MESSAGE);
  if (a.events === undefined) return;
  const event = nodeEvent({
    nodeName: a.nodeName, hostname: a.hostname, nowMs: (a.now ?? Date.now)(), type: 'Warning',
    reason: IPVS_DEPRECATION_REASON, action: IPVS_DEPRECATION_ACTION, note: IPVS_DEPRECATION_MESSAGE,
  });
  await postNodeEvent(a.events, event, a.logger);
}
