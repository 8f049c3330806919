// What --cleanup does for one family in ipvs mode (its virtual servers, its addresses on
// kube-ipvs0 and the link with the last family, its chains, its ipsets), for drivers inside the
// IPVS test kernel that check a family's clean-up leaves the other's state alone.
import { createIpvsApplier } from '../../src/backends/ipvs/ipvs-applier.ts';
import type { Logger } from '../../src/model/logger.ts';
import type { IPFamily } from '../../src/model/types.ts';
import type { Exec } from '../../src/system/exec.ts';
import { createIptables, type XtablesBackend } from '../../src/system/iptables.ts';
import { IpvsClient } from '../../src/system/ipvs-client.ts';
import { LinkClient } from '../../src/system/link-client.ts';

export async function cleanupIpvsFamily(exec: Exec, family: IPFamily, backend: XtablesBackend, logger: Logger): Promise<void> {
  const applier = createIpvsApplier({ family, ipvs: await IpvsClient.open(), links: LinkClient.open(), iptables: createIptables(exec, family, backend), exec, logger });
  try {
    await applier.cleanup();
  } finally {
    applier.close();
  }
}
