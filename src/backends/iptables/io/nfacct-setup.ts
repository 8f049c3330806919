// The iptables mode's nfacct counters, as upstream NewProxier: create ct_state_invalid_dropped_pkts
// and localhost_nps_accepted_pkts over nfnetlink_acct when the kernel has it, so the INVALID drop
// and localhost NodePort rules count into them (render-top.ts, render-service.ts), and export them
// as upstream's kubeproxy_iptables_* counters read at scrape time. Without nfnetlink_acct (or
// without permission) the rules are written without the match and one line says so.
import type { Logger } from '../../../model/logger.ts';
import type { BackendMetrics } from '../../../sync/sync-metrics.ts';
import { describeError } from '../../../errors.ts';
import { NfacctClient } from '../../../system/nfacct-client.ts';
import type { NfacctCounters } from '../options.ts';

/** upstream metrics.IPTablesCTStateInvalidDroppedNFAcctCounter / LocalhostNodePortAcceptedNFAcctCounter. */
export const INVALID_DROPPED_COUNTER = 'ct_state_invalid_dropped_pkts';
export const LOCALHOST_NODEPORTS_COUNTER = 'localhost_nps_accepted_pkts';

const EXPORTED = [
  {
    counter: INVALID_DROPPED_COUNTER,
    metric: 'kubeproxy_iptables_ct_state_invalid_dropped_packets_total',
    help: 'packets dropped by iptables to work around conntrack problems',
  },
  {
    counter: LOCALHOST_NODEPORTS_COUNTER,
    metric: 'kubeproxy_iptables_localhost_nodeports_accepted_packets_total',
    help: 'Number of packets accepted on nodeports of loopback interface',
  },
] as const;

export const NO_NFACCT: NfacctCounters = { localhostNodePortsAccepted: false, invalidDropped: false };

export interface NfacctSetup {
  readonly counters: NfacctCounters;
  /** The client reading the counters for /metrics (null when unavailable). */
  readonly client: NfacctClient | null;
}

export async function setUpNfacct(logger: Logger, metrics?: BackendMetrics, open: () => NfacctClient = NfacctClient.open): Promise<NfacctSetup> {
  let client: NfacctClient;
  try {
    client = open();
    for (const e of EXPORTED) await client.ensure(e.counter);
  } catch (err) {
    logger.warn({ reason: describeError(err) }, 'nfacct counters unavailable (no nfnetlink_acct?): rules written without them, their metrics not exported');
    return { counters: NO_NFACCT, client: null };
  }
  for (const e of EXPORTED) {
    metrics?.addKernelCounter?.(e.metric, e.help, async () => {
      try {
        const c = await client.get(e.counter);
        return c === null ? null : Number(c.packets);
      } catch (err) {
        logger.debug({ counter: e.counter, reason: describeError(err) }, 'nfacct: reading the counter failed');
        return null;
      }
    });
  }
  logger.info({ counters: EXPORTED.map((e) => e.counter) }, 'nfacct counters ready');
  return { counters: { localhostNodePortsAccepted: true, invalidDropped: true }, client };
}
