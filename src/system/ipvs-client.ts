// High-level IPVS client over generic netlink: resolves the IPVS family once, dumps services and
// destinations, and applies batches of changes in one send with per-operation results. Kernel
// errors come back as NetlinkError naming the operation (`ipvs: add service 10.96.0.10:53/UDP:
// EEXIST`); which errnos are harmless is the caller's call (`BENIGN`, `tolerate`).
import { KubeProxyError } from '../errors.ts';
import type { NetlinkError } from '../errors.ts';
import { checkOutcome, outcomeError } from '../netlink/exchange.ts';
import type { Outcome } from '../netlink/exchange.ts';
import { GENL_ID_CTRL, getFamilyRequest, parseFamily } from '../netlink/genl.ts';
import { describeDestination, describeService, IPVS_GENL_NAME, ipvsRequest } from '../netlink/ipvs.ts';
import type { IpvsDestination, IpvsDestinationKey, IpvsService, IpvsServiceKey, IpvsTimeouts } from '../netlink/ipvs.ts';
import { parseConfig, parseDestination, parseInfo, parseService } from '../netlink/ipvs-decode.ts';
import type { IpvsDestinationInfo, IpvsInfo, IpvsServiceInfo } from '../netlink/ipvs-decode.ts';
import { NETLINK_GENERIC } from '../netlink/message.ts';
import { NetlinkSocket } from './netlink-socket.ts';
import type { NetlinkSocketOptions } from './netlink-socket.ts';

export type IpvsOp =
  | { readonly op: 'addService'; readonly service: IpvsService }
  | { readonly op: 'updateService'; readonly service: IpvsService }
  | { readonly op: 'deleteService'; readonly service: IpvsServiceKey }
  | { readonly op: 'addDestination'; readonly service: IpvsServiceKey; readonly destination: IpvsDestination }
  | { readonly op: 'updateDestination'; readonly service: IpvsServiceKey; readonly destination: IpvsDestination }
  | { readonly op: 'deleteDestination'; readonly service: IpvsServiceKey; readonly destination: IpvsDestinationKey };

export interface IpvsOpResult {
  readonly op: IpvsOp;
  /** null on success (or a tolerated errno). */
  readonly error: NetlinkError | null;
}

/** Errnos that mean "already in the wanted state" (ip_vs_ctl.c): EEXIST on add, ESRCH/ENOENT on delete. */
export const BENIGN: Readonly<Record<IpvsOp['op'], readonly string[]>> = {
  addService: ['EEXIST'],
  addDestination: ['EEXIST'],
  deleteService: ['ESRCH'],
  deleteDestination: ['ENOENT', 'ESRCH'],
  updateService: [],
  updateDestination: [],
};

/** `ipvs: add destination 10.244.1.5:8080 to 10.96.0.10:53/UDP`. */
export function describeOp(o: IpvsOp): string {
  const svc = describeService(o.service);
  switch (o.op) {
    case 'addService': return `ipvs: add service ${svc}`;
    case 'updateService': return `ipvs: update service ${svc}`;
    case 'deleteService': return `ipvs: delete service ${svc}`;
    case 'addDestination': return `ipvs: add destination ${describeDestination(o.destination)} to ${svc}`;
    case 'updateDestination': return `ipvs: update destination ${describeDestination(o.destination)} of ${svc}`;
    case 'deleteDestination': return `ipvs: delete destination ${describeDestination(o.destination)} of ${svc}`;
  }
}

function encodeOp(o: IpvsOp): Uint8Array {
  switch (o.op) {
    case 'addService': return ipvsRequest.newService(o.service);
    case 'updateService': return ipvsRequest.setService(o.service);
    case 'deleteService': return ipvsRequest.delService(o.service);
    case 'addDestination': return ipvsRequest.newDest(o.service, o.destination);
    case 'updateDestination': return ipvsRequest.setDest(o.service, o.destination);
    case 'deleteDestination': return ipvsRequest.delDest(o.service, o.destination);
  }
}

/** Interrupted dumps (NLM_F_DUMP_INTR: the table changed under us) are retried this often. */
const DUMP_ATTEMPTS = 3;

export class IpvsClient {
  readonly familyId: number;
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket, familyId: number) {
    this.#sock = sock;
    this.familyId = familyId;
  }

  /**
   * Opens a generic-netlink socket in the caller's network namespace and resolves the IPVS
   * family. Throws KP_ERR_KERNEL_MISSING when the kernel has no IPVS (ENOENT from nlctrl).
   */
  static async open(options: NetlinkSocketOptions = {}): Promise<IpvsClient> {
    const sock = NetlinkSocket.open(NETLINK_GENERIC, options);
    try {
      const [o] = await sock.exchange([{ type: GENL_ID_CTRL, payload: getFamilyRequest(IPVS_GENL_NAME), kind: 'doit' }]);
      if (o === undefined) throw new Error('unreachable: one request, one outcome');
      if (o.errno === 2) {
        throw new KubeProxyError('KP_ERR_KERNEL_MISSING', 'ipvs: the kernel has no IPVS (generic netlink family "IPVS" not found; modprobe ip_vs)');
      }
      const err = checkOutcome('ipvs: resolve generic netlink family', o);
      if (err) throw err;
      const reply = o.messages[0];
      if (reply === undefined) throw new KubeProxyError('KP_ERR_NETLINK', 'ipvs: nlctrl sent no family reply');
      return new IpvsClient(sock, parseFamily(reply.payload).id);
    } catch (err) {
      sock.close();
      throw err;
    }
  }

  close(): void {
    this.#sock.close();
  }

  async #dump(what: string, payload: Uint8Array): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      const o = await this.#sock.exchangeOne(what, { type: this.familyId, payload, kind: 'dump' });
      if (!o.interrupted || attempt >= DUMP_ATTEMPTS) return o;
    }
  }

  async listServices(): Promise<IpvsServiceInfo[]> {
    const o = await this.#dump('ipvs: list services', ipvsRequest.dumpServices());
    return o.messages.map((m) => parseService(m.payload));
  }

  /** One service, or null when absent (ESRCH). */
  async getService(key: IpvsServiceKey): Promise<IpvsServiceInfo | null> {
    const o = await this.#sock.exchangeOne(`ipvs: get service ${describeService(key)}`, { type: this.familyId, payload: ipvsRequest.getService(key), kind: 'doit' }, ['ESRCH']);
    const m = o.messages[0];
    return o.errno !== 0 || m === undefined ? null : parseService(m.payload);
  }

  /** Destinations of `service`; empty when the service does not exist (GET_DEST dump semantics). */
  async listDestinations(service: IpvsServiceKey): Promise<IpvsDestinationInfo[]> {
    const o = await this.#dump(`ipvs: list destinations of ${describeService(service)}`, ipvsRequest.dumpDests(service));
    return o.messages.map((m) => parseDestination(m.payload, service.family));
  }

  /**
   * Applies `ops` in order, batched into as few sends as possible; one result per op. The kernel
   * keeps going after a failure, so a failed service add makes its destination adds fail (ESRCH).
   */
  async apply(ops: readonly IpvsOp[], options: { tolerateBenign?: boolean } = {}): Promise<IpvsOpResult[]> {
    const outcomes = await this.#sock.exchange(ops.map((op) => ({ type: this.familyId, payload: encodeOp(op), kind: 'doit' })));
    return ops.map((op, i) => {
      const o = outcomes[i];
      if (o === undefined) throw new Error('unreachable: one outcome per op');
      return { op, error: checkOutcome(describeOp(op), o, options.tolerateBenign ? BENIGN[op.op] : []) };
    });
  }

  async #single(op: IpvsOp, tolerate: readonly string[]): Promise<void> {
    await this.#sock.exchangeOne(describeOp(op), { type: this.familyId, payload: encodeOp(op), kind: 'doit' }, tolerate);
  }

  addService(service: IpvsService, tolerate: readonly string[] = []): Promise<void> {
    return this.#single({ op: 'addService', service }, tolerate);
  }
  updateService(service: IpvsService): Promise<void> {
    return this.#single({ op: 'updateService', service }, []);
  }
  deleteService(service: IpvsServiceKey, tolerate: readonly string[] = []): Promise<void> {
    return this.#single({ op: 'deleteService', service }, tolerate);
  }
  addDestination(service: IpvsServiceKey, destination: IpvsDestination, tolerate: readonly string[] = []): Promise<void> {
    return this.#single({ op: 'addDestination', service, destination }, tolerate);
  }
  updateDestination(service: IpvsServiceKey, destination: IpvsDestination): Promise<void> {
    return this.#single({ op: 'updateDestination', service, destination }, []);
  }
  deleteDestination(service: IpvsServiceKey, destination: IpvsDestinationKey, tolerate: readonly string[] = []): Promise<void> {
    return this.#single({ op: 'deleteDestination', service, destination }, tolerate);
  }

  async getTimeouts(): Promise<IpvsTimeouts> {
    const o = await this.#sock.exchangeOne('ipvs: get timeouts', { type: this.familyId, payload: ipvsRequest.getConfig(), kind: 'doit' });
    const m = o.messages[0];
    if (m === undefined) throw outcomeError('ipvs: get timeouts (no reply)', { ...o, errno: 61 });
    return parseConfig(m.payload);
  }

  /** 0 keeps the kernel's current value (IPVS_CMD_SET_CONFIG). */
  async setTimeouts(t: IpvsTimeouts): Promise<void> {
    await this.#sock.exchangeOne('ipvs: set timeouts', { type: this.familyId, payload: ipvsRequest.setConfig(t), kind: 'doit' });
  }

  async info(): Promise<IpvsInfo> {
    const o = await this.#sock.exchangeOne('ipvs: get info', { type: this.familyId, payload: ipvsRequest.getInfo(), kind: 'doit' });
    const m = o.messages[0];
    if (m === undefined) throw outcomeError('ipvs: get info (no reply)', { ...o, errno: 61 });
    return parseInfo(m.payload);
  }

  /** Deletes EVERY virtual service in this network namespace, ours or not: --cleanup only. */
  async flush(): Promise<void> {
    await this.#sock.exchangeOne('ipvs: flush', { type: this.familyId, payload: ipvsRequest.flush(), kind: 'doit' });
  }
}
