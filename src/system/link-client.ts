// rtnetlink client for the kube-ipvs0 dummy link: ensure it exists, look it up, list, add and
// delete its addresses (one RTM_GETADDR dump for all, as upstream's netlink_linux.go does).
import { checkOutcome } from '../netlink/exchange.ts';
import type { IPFamily } from '../model/types.ts';
import { NETLINK_ROUTE, NLM_F_CREATE, NLM_F_EXCL } from '../netlink/message.ts';
import {
  RTM_DELADDR, RTM_DELLINK, RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, parseAddress, parseLink, rtRequest,
} from '../netlink/rtnetlink.ts';
import type { AddressInfo, LinkInfo } from '../netlink/rtnetlink.ts';
import { NetlinkSocket } from './netlink-socket.ts';
import type { NetlinkRequest, NetlinkSocketOptions } from './netlink-socket.ts';

/** RTM_DELADDR of an absent address: EADDRNOTAVAIL from the kernel; upstream tolerates ENXIO too. */
const ADDR_ABSENT = ['EADDRNOTAVAIL', 'ENXIO', 'ENOENT'];

export interface AddressChangeResult {
  readonly address: string;
  /** False when the address was already in the wanted state (present on add, absent on delete). */
  readonly changed: boolean;
  readonly error: Error | null;
}

export class LinkClient {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** rtnetlink socket in the caller's network namespace. */
  static open(options: NetlinkSocketOptions = {}): LinkClient {
    return new LinkClient(NetlinkSocket.open(NETLINK_ROUTE, options));
  }

  close(): void {
    this.#sock.close();
  }

  /** The link named `name`, or null (ENODEV). */
  async getLink(name: string): Promise<LinkInfo | null> {
    const o = await this.#sock.exchangeOne(`link ${name}: get`, { type: RTM_GETLINK, payload: rtRequest.getLinkByName(name), kind: 'doit' }, ['ENODEV']);
    const m = o.messages[0];
    return o.errno !== 0 || m === undefined ? null : parseLink(m.payload);
  }

  async listLinks(): Promise<LinkInfo[]> {
    const o = await this.#sock.exchangeOne('links: dump', { type: RTM_GETLINK, payload: rtRequest.dumpLinks(), kind: 'dump' });
    return o.messages.map((m) => parseLink(m.payload));
  }

  /** Creates the dummy link unless it exists (left down, like upstream's kube-ipvs0). */
  async ensureDummyLink(name: string): Promise<LinkInfo> {
    const existing = await this.getLink(name);
    if (existing !== null) return existing;
    await this.#sock.exchangeOne(
      `link ${name}: create dummy`,
      { type: RTM_NEWLINK, flags: NLM_F_CREATE | NLM_F_EXCL, payload: rtRequest.newDummyLink(name), kind: 'doit' },
      ['EEXIST'],
    );
    const created = await this.getLink(name);
    if (created === null) throw new Error(`link ${name}: created but not found`);
    return created;
  }

  async setLinkUp(link: LinkInfo, up: boolean): Promise<void> {
    await this.#sock.exchangeOne(`link ${link.name}: set ${up ? 'up' : 'down'}`, { type: RTM_NEWLINK, payload: rtRequest.setLinkUp(link.index, up), kind: 'doit' });
  }

  /** True when deleted, false when it did not exist. */
  async deleteLink(name: string): Promise<boolean> {
    const link = await this.getLink(name);
    if (link === null) return false;
    const o = await this.#sock.exchangeOne(`link ${name}: delete`, { type: RTM_DELLINK, payload: rtRequest.delLink(link.index), kind: 'doit' }, ['ENODEV']);
    return o.errno === 0;
  }

  /** Addresses on the link with `index` (one dump of all addresses, filtered here). */
  async listAddresses(index: number, family?: IPFamily): Promise<AddressInfo[]> {
    const o = await this.#sock.exchangeOne('addresses: dump', { type: RTM_GETADDR, payload: rtRequest.dumpAddresses(family), kind: 'dump' });
    const out: AddressInfo[] = [];
    for (const m of o.messages) {
      const a = parseAddress(m.payload);
      if (a !== null && a.index === index) out.push(a);
    }
    return out;
  }

  /** Every address on the node (one dump), with its link index: node addresses and a link's in one request. */
  async listAllAddresses(family?: IPFamily): Promise<AddressInfo[]> {
    const o = await this.#sock.exchangeOne('addresses: dump', { type: RTM_GETADDR, payload: rtRequest.dumpAddresses(family), kind: 'dump' });
    const out: AddressInfo[] = [];
    for (const m of o.messages) {
      const a = parseAddress(m.payload);
      if (a !== null && (family === undefined || a.family === family)) out.push(a);
    }
    return out;
  }

  /** Adds host addresses (/32, /128) in one batch; an address already present is not an error. */
  addAddresses(link: LinkInfo, addresses: readonly string[]): Promise<AddressChangeResult[]> {
    return this.#addrBatch(link, addresses, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 'add', ['EEXIST']);
  }

  /** Deletes host addresses in one batch; an address already absent is not an error. */
  deleteAddresses(link: LinkInfo, addresses: readonly string[]): Promise<AddressChangeResult[]> {
    return this.#addrBatch(link, addresses, RTM_DELADDR, 0, 'delete', ADDR_ABSENT);
  }

  async #addrBatch(
    link: LinkInfo, addresses: readonly string[], type: number, flags: number, verb: string, benign: readonly string[],
  ): Promise<AddressChangeResult[]> {
    const reqs: NetlinkRequest[] = [];
    const early: (AddressChangeResult | null)[] = [];
    for (const address of addresses) {
      try {
        reqs.push({ type, flags, payload: rtRequest.address(link.index, address), kind: 'doit' });
        early.push(null);
      } catch (err) {
        early.push({ address, changed: false, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }
    const outcomes = await this.#sock.exchange(reqs);
    let next = 0;
    return addresses.map((address, i) => {
      const pre = early[i];
      if (pre) return pre;
      const o = outcomes[next++];
      if (o === undefined) throw new Error('unreachable: one outcome per request');
      const error = checkOutcome(`link ${link.name}: ${verb} address ${address}`, o, benign);
      return { address, changed: o.errno === 0, error };
    });
  }
}
