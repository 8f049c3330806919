// The proxier's seam to the netlink writer (routing only; the writer itself is tested on the real
// kernel in test/nftables-netlink-*.test.ts): full syncs go to nft, partial syncs to the writer,
// a transaction it declines to nft, and a batch the kernel refuses is counted and followed by a
// full sync through nft.
import { describe, expect, it } from 'vitest';
import { overallState } from '../iptables/testing/upstream-cases.ts';
import { ep } from '../iptables/testing/fixtures.ts';
import type { ProxyState } from '../../model/types.ts';
import { recordingLogger } from '../../sync/testing/recorders.ts';
import { NftError } from '../../system/nft.ts';
import { NftablesProxier } from './proxier.ts';
import { upstreamNftOptions } from './testing/fixtures.ts';

function setup(netlink: (tx: string) => Promise<boolean>) {
  const calls: string[] = [];
  const proxier = new NftablesProxier({
    family: 'IPv4', logger: recordingLogger(), probeIntervalMs: 3_600_000, options: () => upstreamNftOptions(),
    nft: {
      run: (tx) => (calls.push(`nft ${tx.split('\n').length - 1}`), Promise.resolve()),
      listObjects: () => Promise.resolve(null),
      chainsPresent: () => Promise.resolve(true),
      deleteTable: () => Promise.resolve(),
    },
    netlink: { tryRun: async (tx, fam) => (calls.push(`netlink ${fam}`), netlink(tx)) },
  });
  return { calls, proxier };
}

const changed = (state: ProxyState, ip: string): ProxyState => {
  const name = [...state.services.keys()][0] as string;
  return { ...state, full: false, endpoints: new Map(state.endpoints).set(name, [ep(ip, 80)]), changedServices: new Set(), changedEndpoints: new Set([name]) };
};

describe('nftables proxier with the netlink writer', () => {
  it('sends full syncs to nft and partial syncs to the writer', async () => {
    const { calls, proxier } = setup(() => Promise.resolve(true));
    const s = overallState();
    await proxier.sync({ ...s, full: true });
    await proxier.sync(changed(s, '10.180.9.1'));
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['nft', 'netlink']);
  });

  it('leaves a declined transaction to nft', async () => {
    const { calls, proxier } = setup(() => Promise.resolve(false));
    const s = overallState();
    await proxier.sync({ ...s, full: true });
    await proxier.sync(changed(s, '10.180.9.1'));
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['nft', 'netlink', 'nft']);
  });

  it('counts a refused batch and follows it with a full sync through nft', async () => {
    let refuse = true;
    const { calls, proxier } = setup(() => {
      if (refuse) {
        refuse = false;
        return Promise.reject(new NftError('kernel refused add-rule: ENOENT', 3, 'add rule ip kube-proxy x goto y'));
      }
      return Promise.resolve(true);
    });
    const s = overallState();
    await proxier.sync({ ...s, full: true });
    await expect(proxier.sync(changed(s, '10.180.9.1'))).rejects.toMatchObject({ line: 3 });
    expect(proxier.syncFailures).toBe(1);
    expect(proxier.needFullSync).toBe(true);
    await proxier.sync(changed(s, '10.180.9.2'));
    expect(calls.map((c) => c.split(' ')[0])).toEqual(['nft', 'netlink', 'nft']);
  });
});
