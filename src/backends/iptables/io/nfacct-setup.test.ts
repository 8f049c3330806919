import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../../../errors.ts';
import { recordingLogger } from '../../../sync/testing/recorders.ts';
import type { NfacctClient } from '../../../system/nfacct-client.ts';
import { setUpNfacct } from './nfacct-setup.ts';

// The kernel path is tested for real in test/iptables-nfacct.test.ts; here only the fallback,
// which the host kernel (it has nfnetlink_acct) cannot show.
describe('setUpNfacct fallback', () => {
  it.each([
    { name: 'no NETLINK_NETFILTER socket', open: (): NfacctClient => { throw new Error('socket: EPROTONOSUPPORT'); } },
    {
      name: 'no nfnetlink_acct subsystem',
      open: (): NfacctClient => ({ ensure: () => Promise.reject(new NetlinkError('nfacct: creating counter x', 22, 'EINVAL')) }) as unknown as NfacctClient,
    },
  ])('$name: no counters, no metrics, one warning', async ({ open }) => {
    const log = recordingLogger();
    const added: string[] = [];
    const metrics = { incRestoreFailure: () => undefined, addKernelCounter: (name: string) => void added.push(name) };
    const r = await setUpNfacct(log, metrics, open);
    expect(r.counters).toEqual({ localhostNodePortsAccepted: false, invalidDropped: false });
    expect(added).toEqual([]);
    expect(log.entries.map((e) => `${e.level} ${e.msg}`)).toEqual([
      'warn nfacct counters unavailable (no nfnetlink_acct?): rules written without them, their metrics not exported',
    ]);
  });
});
