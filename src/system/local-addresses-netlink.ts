// The node's local addresses over rtnetlink (one RTM_GETLINK and one RTM_GETADDR dump on a socket
// kept open), instead of spawning `ip -j addr show` on every sync: the iptables proxier reads them
// for each sync's render options, and a spawn costs milliseconds (more on a loaded node) where the
// two dumps cost well under one (bench/iptables-fixed-costs.bench.ts). Upstream reads them through
// netlink as well (pkg/proxy/util/network.go RealNetwork.InterfaceAddrs → Go's net.InterfaceAddrs,
// an RTM_GETADDR dump on Linux). The socket lives in the caller's network namespace.
import type { IPFamily } from '../model/types.ts';
import { LinkClient } from './link-client.ts';
import type { LocalAddress } from './local-addresses.ts';

export interface LocalAddressSource {
  /** Addresses in `ip addr show` order: by link index, then as the kernel lists them. */
  read(family?: IPFamily): Promise<LocalAddress[]>;
  close(): void;
}

/** Opens the rtnetlink socket now (throws when netlink or koffi is unavailable). */
const familyRank = (f: 'IPv4' | 'IPv6'): number => (f === 'IPv4' ? 0 : 1);

export function openNetlinkAddressSource(): LocalAddressSource {
  const client = LinkClient.open({ timeoutMs: 10_000 });
  return {
    async read(family) {
      // Links first: an address added in between names a link we have not seen, and gets ''.
      const names = new Map((await client.listLinks()).map((l) => [l.index, l.name]));
      const addrs = await client.listAllAddresses(family);
      // `ip addr show` groups by link in index order, IPv4 before IPv6 on each link; the node-IP
      // fallback (first non-loopback address) depends on that order. Array sort is stable.
      const sorted = [...addrs].sort((x, y) => x.index - y.index || familyRank(x.family) - familyRank(y.family));
      return sorted.map((a) => ({
        ip: a.address,
        prefixLength: a.prefixLength,
        family: a.family,
        interface: names.get(a.index) ?? '',
      }));
    },
    close: () => client.close(),
  };
}
