// A pod wired as routed CNIs (Calico and the like) wire theirs, for the local-detection tests: no
// bridge, a veth whose node end is named with the CNI's prefix (e.g. `cali1`), the pod's /128
// reached by a host route through it, and the pod's default route via a link-local gateway
// (fe80::1 on the node end). IPv6 only. Its address is chosen by the caller, typically inside the
// cluster CIDR but outside the node's bridge subnet, so replies route back through the node.
import { createNamespace, ipIn, vethBetween } from './netns.ts';

export interface RoutedPod {
  readonly ns: string;
  readonly ip6: string;
}

export async function addRoutedPod(nodeNs: string, hostIf: string, ip6: string): Promise<RoutedPod> {
  const ns = await createNamespace(`v6g-${hostIf}`);
  await vethBetween(nodeNs, hostIf, ns, 'eth0');
  // `nodad`: usable at once (no duplicate address detection keeping them tentative).
  await ipIn(nodeNs, ['-6', 'addr', 'add', 'fe80::1/64', 'dev', hostIf, 'nodad']);
  await ipIn(nodeNs, ['-6', 'route', 'add', `${ip6}/128`, 'dev', hostIf]);
  await ipIn(ns, ['-6', 'addr', 'add', `${ip6}/128`, 'dev', 'eth0', 'nodad']);
  await ipIn(ns, ['-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0']);
  return { ns, ip6 };
}
