// Child process of iptables.bench.ts, run inside a throw-away namespace
// (`ip netns exec NS node bench/iptables-agent.ts BACKEND N E DIR`). It answers one JSON line per
// JSON command on stdin:
//   {"op":"full"}            cold or warm full sync of N×E through ClusterState and the real
//                            IptablesProxier (real applier: iptables-<backend>-restore in this netns)
//   {"op":"change","i":K}    one endpoint of Service K flips Ready: upsert → snapshot → sync → commit
//   {"op":"restore","file":F} the restore tool alone on a file (`--noflush --counters -w 5 < F`)
//   {"op":"rss"}             peak RSS of this process; live heap after a full GC
//   {"op":"setup"}           build the state and the proxier only (no sync), to see their memory
// Every sync's payload is written to DIR/last-<backend>.txt for the tool-only baselines.
import { spawn } from 'node:child_process';
import { openSync, closeSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createIptablesApplier, type RulesApplier } from '../src/backends/common/iptables-rules-applier.ts';
import { withProbedBuiltins } from '../src/backends/common/io/ensure-builtins.ts';
import { iptablesJumps } from '../src/backends/iptables/io/setup.ts';
import { DEFAULT_RENDER_OPTIONS } from '../src/backends/iptables/options.ts';
import { IptablesProxier } from '../src/backends/iptables/proxier.ts';
import { renderRules, type RenderMemo } from '../src/backends/iptables/render.ts';
import type { ClusterState } from '../src/model/cluster-state.ts';
import type { Logger } from '../src/model/logger.ts';
import { createConntrack } from '../src/system/conntrack.ts';
import { exec as baseExec, type Exec } from '../src/system/exec.ts';
import { binaries, createIptables, type XtablesBackend } from '../src/system/iptables.ts';
import { localAddresses, type LocalAddress } from '../src/system/local-addresses.ts';
import { openNetlinkAddressSource } from '../src/system/local-addresses-netlink.ts';
import { benchClusterState, makeSlice } from './cluster-fixtures.ts';

const [backendArg = 'nft', nArg = '10000', eArg = '10', dir = '/tmp'] = process.argv.slice(2);
const backend = backendArg as XtablesBackend;
const N = Number(nArg);
const E = Number(eArg);
const payloadFile = `${dir}/last-${backend}.txt`;
/**
 * src/system/iptables.ts kills a restore after 60 s; on a loaded 2-CPU machine a cold
 * iptables-nft full restore at 10k×10 can take longer, so the bench lifts the limit to measure it
 * (the parent prints a warning when a restore in ours took over 60 s).
 */
const exec: Exec = (file, args, options) => baseExec(file, args, { ...options, timeoutMs: 900_000 });

function stderrLogger(): Logger {
  const drop = (): void => undefined;
  const say = (level: string) => (a: object | string, b?: string): void => {
    process.stderr.write(`${level}: ${typeof a === 'string' ? a : `${b ?? ''} ${JSON.stringify(a)}`}\n`);
  };
  const log: Logger = { trace: drop, debug: drop, info: drop, warn: say('warn'), error: say('error'), fatal: say('fatal'), child: () => log };
  return log;
}

/**
 * Per-sync time spent in each part, ms. `render` is the renderer's first pass (the plan, before
 * the restore starts); `stream` is the time spent making the payload's chunks while the restore
 * reads them (the per-service chain rules), which overlaps the restore and is part of `restore`.
 */
const ZERO = { render: 0, stream: 0, restore: 0, applierOther: 0, jumps: 0, canary: 0, natChains: 0, options: 0, bytes: 0 };
const t = { ...ZERO };
/** applierOther is the sum of the applier calls other than the restore: jumps, canary, natChains. */
const timed = async <T>(key: 'restore' | 'jumps' | 'canary' | 'natChains' | 'options', fn: () => Promise<T>): Promise<T> => {
  const s = performance.now();
  try {
    return await fn();
  } finally {
    const d = performance.now() - s;
    t[key] += d;
    if (key === 'jumps' || key === 'canary' || key === 'natChains') t.applierOther += d;
  }
};

/** `chunks`, each also written to `fd` as it is taken; the time spent making them goes to t.stream. */
function teeToFile(chunks: Iterable<string>, fd: number): Iterable<string> {
  return {
    *[Symbol.iterator]() {
      const it = chunks[Symbol.iterator]();
      for (;;) {
        const s = performance.now();
        const r = it.next();
        t.stream += performance.now() - s;
        if (r.done === true) return;
        t.bytes += writeSync(fd, r.value);
        yield r.value;
      }
    },
  };
}

function timedApplier(a: RulesApplier): RulesApplier {
  return {
    family: a.family,
    backend: a.backend,
    ensureJumps: (j) => timed('jumps', () => a.ensureJumps(j)),
    ensureCanary: () => timed('canary', () => a.ensureCanary()),
    canaryPresent: () => timed('canary', () => a.canaryPresent()),
    natChains: () => timed('natChains', () => a.natChains()),
    restore: (p) => {
      // Each chunk is copied to the file as the restore takes it (the payload is made lazily, as
      // it is read): iterating it first would render it twice, and a joined copy would add ~30 MB
      // to the peak RSS measured here.
      const fd = openSync(payloadFile, 'w');
      t.bytes = 0;
      return timed('restore', () => a.restore(teeToFile(typeof p === 'string' ? [p] : p, fd))).finally(() => closeSync(fd));
    },
    cleanup: () => a.cleanup(),
  };
}

/** As setup.ts: the host's addresses over rtnetlink on every sync, `ip -j addr` where it cannot open. */
function addressReader(): () => Promise<LocalAddress[]> {
  try {
    const source = openNetlinkAddressSource();
    return () => source.read('IPv4');
  } catch (err) {
    process.stderr.write(`warn: rtnetlink unavailable, reading addresses with ip: ${String(err)}\n`);
    return () => localAddresses(exec, 'IPv4');
  }
}

let state: ClusterState | undefined;
let proxier: IptablesProxier<RenderMemo> | undefined;
const versions = new Map<number, number>();

function setup(): { state: ClusterState; proxier: IptablesProxier<RenderMemo> } {
  if (state !== undefined && proxier !== undefined) return { state, proxier };
  state = benchClusterState(N, E);
  const ipt = createIptables(exec, 'IPv4', backend);
  const readAddresses = addressReader();
  proxier = new IptablesProxier<RenderMemo>({
    family: 'IPv4',
    // Wired as setup.ts wires the daemon's applier: jumps and canaries with one probe.
    applier: timedApplier(withProbedBuiltins(createIptablesApplier(ipt), ipt)),
    render: (s, o, p) => {
      const r0 = performance.now();
      const out = renderRules(s, o, p);
      t.render += performance.now() - r0;
      return out;
    },
    jumps: iptablesJumps,
    // As setup.ts: the host's addresses are read on every sync.
    renderOptions: async () => timed('options', async () => ({
      ...DEFAULT_RENDER_OPTIONS,
      localDetector: { ifLocal: '-s 10.244.0.0/16', ifNotLocal: '! -s 10.244.0.0/16' },
      randomFully: true,
      localAddresses: (await readAddresses()).map((a) => a.ip),
    })),
    conntrack: createConntrack(exec),
    logger: stderrLogger(),
    canaryIntervalMs: 30_000,
  });
  return { state, proxier };
}

async function sync(full: boolean, change?: () => void): Promise<Record<string, number>> {
  const s0 = performance.now();
  const { state: st, proxier: px } = setup();
  const setupMs = performance.now() - s0;
  Object.assign(t, ZERO);
  const c0 = performance.now();
  change?.();
  const snap = st.snapshot('IPv4', { full });
  const r = await px.sync(snap);
  st.commit(snap);
  const totalMs = performance.now() - c0;
  return { totalMs, setupMs, ...t, otherMs: totalMs - t.render - t.restore - t.applierOther - t.options, partial: r.kind === 'partial' ? 1 : 0, peakMiB: process.resourceUsage().maxRSS / 1024 };
}

function restoreFile(file: string): Promise<Record<string, number>> {
  const fd = openSync(file, 'r');
  const s = performance.now();
  const child = spawn(binaries('IPv4', backend).restore, ['--noflush', '--counters', '-w', '5'], { stdio: [fd, 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      closeSync(fd);
      if (code === 0) resolve({ ms: performance.now() - s });
      else reject(new Error(`restore of ${file} exited ${code}: ${err.slice(0, 500)}`));
    });
  });
}

interface Command {
  readonly op: 'full' | 'change' | 'restore' | 'rss' | 'setup';
  readonly i?: number;
  readonly file?: string;
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const cmd = JSON.parse(line) as Command;
  try {
    let out: Record<string, number>;
    if (cmd.op === 'full') out = await sync(true);
    else if (cmd.op === 'change') {
      const i = cmd.i ?? 0;
      const v = (versions.get(i) ?? 1) + 1;
      versions.set(i, v);
      out = await sync(false, () => state?.upsert('EndpointSlice', makeSlice(i, E, v)));
    } else if (cmd.op === 'restore') out = await restoreFile(cmd.file ?? '');
    else if (cmd.op === 'setup') {
      const s0 = performance.now();
      setup();
      out = { setupMs: performance.now() - s0 };
    }
    else {
      const peakMiB = process.resourceUsage().maxRSS / 1024;
      // What stays alive between syncs (state, memo), after a full collection (--expose-gc).
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      out = {
        peakMiB,
        rssMiB: m.rss / 2 ** 20,
        heapMiB: m.heapUsed / 2 ** 20,
        heapTotalMiB: m.heapTotal / 2 ** 20,
        externalMiB: m.external / 2 ** 20,
        arrayBuffersMiB: m.arrayBuffers / 2 ** 20,
      };
    }
    console.log(JSON.stringify({ ok: true, ...out }));
  } catch (err) {
    console.log(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
  }
}
