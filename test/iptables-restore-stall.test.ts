// A restore whose input stops flowing for a while (the payload is rendered as the restore reads it,
// and a GC pause or a slow service can hold it back) must still commit. iptables-legacy-restore
// 1.8.9 with `-w 5` arms alarm(5) when it takes the xtables lock and never disarms it: a read of
// stdin blocked 5 s later is interrupted, taken for end of input, and the restore fails with
// "COMMIT expected" (found at 10,000 Services, half way through a 7 s restore). Real
// iptables-restore in a throw-away namespace, both back-ends.
import { afterAll, expect, it } from 'vitest';
import { createIptables, savedChains, type XtablesBackend } from '../src/system/iptables.ts';
import { createNamespace, deleteAllNamespaces, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

/** Blocks the whole thread (so nothing is written to the restore's stdin meanwhile). */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A payload whose second half comes only after `ms`, made lazily as the restore reads it. */
function stallingPayload(ms: number): Iterable<string> {
  return {
    *[Symbol.iterator]() {
      yield '*filter\n:KUBE-STALL-A - [0:0]\n';
      stall(ms);
      yield ':KUBE-STALL-B - [0:0]\n-A KUBE-STALL-B -j RETURN\nCOMMIT\n';
    },
  };
}

afterAll(deleteAllNamespaces);

for (const backend of ['legacy', 'nft'] as const satisfies readonly XtablesBackend[]) {
  describeWith(`a restore whose input stalls past the lock wait (${backend})`, ['root', 'iptables'], () => {
    it('commits once the rest arrives, 6 s later', async () => {
      const ns = await createNamespace(`stall-${backend}`);
      const ipt = createIptables(nsExec(ns), 'IPv4', backend);
      await ipt.restore(stallingPayload(6_000));
      expect(savedChains(await ipt.save('filter'))).toEqual(expect.arrayContaining(['KUBE-STALL-A', 'KUBE-STALL-B']));
    }, 60_000);
  });
}
