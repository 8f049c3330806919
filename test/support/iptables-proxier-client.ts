// Drives the iptables proxier from inside a node namespace, for the end-to-end tests: run as
// `ip netns exec NODE node iptables-proxier-client.ts BACKEND OPTIONS_JSON`, it reads one JSON
// command per stdin line and answers one JSON line with the same id:
//   {"id":1,"op":"sync","state":WireState}  -> {"id":1,"ok":true,"kind":"full"|"partial",...}
//   {"id":2,"op":"cleanup"}                 -> {"id":2,"ok":true}
// The proxier is the real one (renderer + applier wrapped as setup.ts wires it + iptables-restore +
// conntrack, host addresses over rtnetlink); only the cluster state comes from fixtures instead of
// an API server.
import { createInterface } from 'node:readline';
import { createIptablesApplier } from '../../src/backends/common/iptables-rules-applier.ts';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../../src/backends/iptables/options.ts';
import { IptablesProxier } from '../../src/backends/iptables/proxier.ts';
import { renderRules, type RenderMemo } from '../../src/backends/iptables/render.ts';
import { describeError } from '../../src/errors.ts';
import type { Logger } from '../../src/model/logger.ts';
import type { Endpoint, NodeInfo, ProxyState, ServicePort, ServicePortName } from '../../src/model/types.ts';
import { createConntrack } from '../../src/system/conntrack.ts';
import { exec } from '../../src/system/exec.ts';
import { createIptables, type XtablesBackend } from '../../src/system/iptables.ts';
import { openNetlinkAddressSource } from '../../src/system/local-addresses-netlink.ts';
import { withProbedBuiltins } from '../../src/backends/common/io/ensure-builtins.ts';
import { iptablesJumps } from '../../src/backends/iptables/io/setup.ts';

/** ProxyState with maps and sets as arrays, so it crosses a pipe as JSON. */
export interface WireState {
  readonly node: NodeInfo;
  readonly services: readonly ServicePort[];
  readonly endpoints: readonly (readonly [ServicePortName, readonly Endpoint[]])[];
  readonly changedServices?: readonly ServicePortName[];
  readonly changedEndpoints?: readonly ServicePortName[];
  readonly removedEndpoints?: readonly (readonly [ServicePortName, readonly Endpoint[]])[];
  readonly full?: boolean;
}

export type Command = { readonly id: number; readonly op: 'sync'; readonly state: WireState } | { readonly id: number; readonly op: 'cleanup' };

export function fromWire(w: WireState): ProxyState {
  return {
    family: 'IPv4',
    node: w.node,
    services: new Map(w.services.map((s) => [s.name, s])),
    endpoints: new Map(w.endpoints),
    changedServices: new Set(w.changedServices ?? []),
    changedEndpoints: new Set(w.changedEndpoints ?? []),
    removedEndpoints: new Map(w.removedEndpoints ?? []),
    full: w.full ?? false,
  };
}

function stderrLogger(): Logger {
  const at =
    (level: string) =>
    (a: object | string, b?: string): void => {
      const line = typeof a === 'string' ? { level, msg: a } : { level, msg: b, ...a };
      process.stderr.write(`${JSON.stringify(line, (_k, v: unknown) => (v instanceof Error ? describeError(v) : v))}\n`);
    };
  const log: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => log };
  return log;
}

async function main(): Promise<void> {
  const [backend = 'nft', optionsJson = '{}'] = process.argv.slice(2);
  const extra = JSON.parse(optionsJson) as Partial<RenderOptions>;
  const ipt = createIptables(exec, 'IPv4', backend as XtablesBackend);
  const logger = stderrLogger();
  const addresses = openNetlinkAddressSource();
  const proxier = new IptablesProxier<RenderMemo>({
    family: 'IPv4',
    applier: withProbedBuiltins(createIptablesApplier(ipt), ipt),
    render: renderRules,
    jumps: iptablesJumps,
    renderOptions: async () => ({
      ...DEFAULT_RENDER_OPTIONS,
      randomFully: true,
      localAddresses: (await addresses.read('IPv4')).map((a) => a.ip),
      ...extra,
    }),
    conntrack: createConntrack(exec),
    logger,
  });
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    const cmd = JSON.parse(line) as Command;
    try {
      if (cmd.op === 'sync') {
        const r = await proxier.sync(fromWire(cmd.state));
        console.log(JSON.stringify({ id: cmd.id, ok: true, kind: r.kind, counts: r.counts }));
      } else {
        // --cleanup's removal of every KUBE-* chain, on the proxier's back-end and family.
        await createIptablesApplier(ipt).cleanup();
        console.log(JSON.stringify({ id: cmd.id, ok: true }));
      }
    } catch (err) {
      console.log(JSON.stringify({ id: cmd.id, ok: false, error: describeError(err), needFull: proxier.needFullSync }));
    }
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await main();

export interface ProxierReply {
  readonly id: number;
  readonly ok: boolean;
  readonly kind?: string;
  readonly error?: string;
  readonly needFull?: boolean;
}

/** The test side: starts this script in a node namespace and sends it commands. */
export interface ProxierDriver {
  sync(state: WireState): Promise<ProxierReply>;
  cleanup(): Promise<ProxierReply>;
  /** Stop the process (rules stay, as when kube-proxy restarts). */
  stop(): Promise<void>;
  output(): string;
}

export async function startProxier(ns: string, backend: XtablesBackend, options: Partial<RenderOptions>): Promise<ProxierDriver> {
  const { spawnIn } = await import('./netns.ts');
  const self = new URL(import.meta.url).pathname;
  const proc = spawnIn(ns, process.execPath, [self, backend, JSON.stringify(options)], { stdin: true });
  let next = 0;
  const send = async (cmd: Omit<Command, 'id'> & { op: Command['op'] }): Promise<ProxierReply> => {
    const id = ++next;
    proc.write(`${JSON.stringify({ ...cmd, id })}\n`);
    const line = await proc.waitForLine((l) => l.startsWith('{') && (JSON.parse(l) as ProxierReply).id === id, 60_000);
    return JSON.parse(line) as ProxierReply;
  };
  return {
    sync: (state) => send({ op: 'sync', state } as Command),
    cleanup: () => send({ op: 'cleanup' } as Command),
    stop: () => proc.stop(),
    output: () => proc.output(),
  };
}
