// Runs the userspace Proxier inside a namespace for system tests:
// `node userspace-proxy-runner.ts HOST_IP [IPv4|IPv6]` (default IPv4; listens on 0.0.0.0 / ::).
// Reads one JSON command per stdin line — `{"op":"sync","services":[…],"endpoints":{…},"full":bool}`
// (optional "changedServices": […], default all) or `{"op":"cleanup"}` — and answers
// each with one line: `ok <id> <json>` (proxy ports by service port, or the sync result) or
// `error <id> <text>`, where id counts commands from 1 (so a test can wait for its own answer).
import { createInterface } from 'node:readline';
import { createUserspaceProxier } from '../../src/backends/userspace/io/proxier.ts';
import { PortalApplier } from '../../src/backends/userspace/userspace-applier.ts';
import { describeError } from '../../src/errors.ts';
import type { Endpoint, IPFamily, ProxyState, ServicePort } from '../../src/model/types.ts';
import { exec } from '../../src/system/exec.ts';
import { createIptables, type XtablesBackend } from '../../src/system/iptables.ts';
import { silentLogger } from './userspace-backends.ts';

interface SyncCommand {
  readonly op: 'sync';
  readonly services: ServicePort[];
  readonly endpoints: Record<string, Endpoint[]>;
  readonly full?: boolean;
  /** The Services changed since the last sync (default: all), e.g. [] for an EndpointSlice-only change. */
  readonly changedServices?: string[];
}
type Command = SyncCommand | { readonly op: 'cleanup' } | { readonly op: 'ports' };

const hostIP = process.argv[2] ?? '';
const family: IPFamily = process.argv[3] === 'IPv6' ? 'IPv6' : 'IPv4';
const listenIP = family === 'IPv6' ? '::' : '0.0.0.0';
// The back-end the namespace's default iptables is (what the tests read back with iptables-save).
const backend: XtablesBackend = (await exec('iptables', ['--version'], { timeoutMs: 10_000 })).stdout.includes('nf_tables') ? 'nft' : 'legacy';
const iptables = createIptables(exec, family, backend);
const proxier = createUserspaceProxier({
  family,
  iptables,
  logger: silentLogger,
  now: () => Date.now(),
  listenIP,
  hostIP,
  udpIdleTimeoutMs: 1000,
  tcp: { drainTimeoutMs: 1000 },
});
let names: string[] = [];

async function run(cmd: Command): Promise<unknown> {
  // --cleanup of the portal rules (upstream userspace CleanupLeftovers), this family's tables.
  if (cmd.op === 'cleanup') return new PortalApplier({ iptables, family, listenIP, hostIP }).cleanup();
  if (cmd.op === 'ports') return Object.fromEntries(names.map((n) => [n, proxier.proxyPort(n) ?? null]));
  names = cmd.services.map((s) => s.name);
  const state: ProxyState = {
    family,
    services: new Map(cmd.services.map((s) => [s.name, s])),
    endpoints: new Map(Object.entries(cmd.endpoints)),
    node: { name: 'node-1', labels: {}, zone: '', podCIDRs: [], eligible: true },
    changedServices: new Set(cmd.changedServices ?? names),
    changedEndpoints: new Set(names),
    removedEndpoints: new Map(),
    full: cmd.full ?? true,
  };
  return proxier.sync(state);
}

let seq = 0;
let chain: Promise<void> = Promise.resolve();
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const id = ++seq;
  // One command at a time, as the sync runner calls a proxier.
  chain = chain.then(() =>
    run(JSON.parse(line) as Command).then(
      (r) => console.log(`ok ${id} ${JSON.stringify(r ?? null)}`),
      (err: unknown) => console.log(`error ${id} ${describeError(err).replace(/\n/g, ' ')}`),
    ),
  );
});
rl.on('close', () => void proxier.close?.());
process.on('SIGTERM', () => void proxier.close?.().finally(() => process.exit(0)));
console.log('ready');
