// `kube-proxy-ts trace DEST [--from pod|node|external|IP] [--mode M] [--state FILE] [--node-ip IP]...
// [--json]`: where a packet to DEST goes on this node. The mode is the one whose state the kernel
// holds (each registered mode's `trace.readState`, in registry order) or the one a saved dump is
// in; the mode's own tracer answers. Exit 0 when an endpoint is reached, 1 when the packet is
// rejected, dropped or matches no Service, 2 on bad input (one line on stderr).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeError, KubeProxyError, TraceInputError } from '../../errors.ts';
import { MODES, REGISTERED_MODES } from '../../backends/modes.ts';
import type { ModeEntry, ModeTrace } from '../../backends/mode-entry.ts';
import { parseIP } from '../../model/ip.ts';
import type { Exec } from '../../system/exec.ts';
import { localAddresses } from '../../system/local-addresses.ts';
import { formatTrace } from '../format-trace.ts';
import { parseDest, parseFrom } from '../parse-dest.ts';
import { traceExitCode, type TraceReport } from '../trace-types.ts';

export const TRACE_USAGE = `usage: kube-proxy-ts trace IP:PORT[/tcp|udp|sctp] [--from pod|node|external|IP] [--mode MODE]
                          [--state FILE [--node-ip IP]...] [--json]
       kube-proxy-ts trace --dump-state IPv4|IPv6 [--mode MODE] > FILE   (the live state, for --state elsewhere)`;

export interface TraceCommandIO {
  readonly exec: Exec;
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly readFile?: (path: string) => string;
}

type Traceable = ModeEntry & { readonly trace: () => Promise<ModeTrace> };
const traceable = (): Traceable[] => MODES.filter((m): m is Traceable => m.trace !== undefined);

function modeByName(name: string): Traceable {
  const m = MODES.find((x) => x.name === name);
  if (m === undefined) throw new TraceInputError(`--mode ${JSON.stringify(name)}: not a proxy mode (use ${REGISTERED_MODES.join(', ')})`);
  if (m.trace === undefined) throw new TraceInputError(`--mode ${name}: trace does not read this mode yet (it reads ${traceable().map((x) => x.name).join(', ')})`);
  return m as Traceable;
}

/** The tracer of the first registered mode (registry order) whose dump `text` is. */
async function recognising(text: string): Promise<ModeTrace | undefined> {
  for (const m of traceable()) {
    const tracer = await m.trace();
    if (tracer.recognises(text)) return tracer;
  }
  return undefined;
}

/** `--dump-state FAMILY`: the live state, in the format --state takes (support cases, other nodes). */
async function dumpState(family: string, mode: string | undefined, io: TraceCommandIO): Promise<string> {
  if (family !== 'IPv4' && family !== 'IPv6') throw new TraceInputError(`--dump-state ${JSON.stringify(family)}: give IPv4 or IPv6`);
  for (const m of mode !== undefined ? [modeByName(mode)] : traceable()) {
    const state = await (await m.trace()).readState({ exec: io.exec, family });
    if (state !== null) return state;
  }
  throw new TraceInputError(`no ${family} state of ${mode ?? `a mode trace reads (${traceable().map((m) => m.name).join(', ')})`} is programmed on this node`);
}

async function report(argv: readonly string[], io: TraceCommandIO): Promise<{ report: TraceReport; json: boolean } | { dump: string } | 'help'> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        from: { type: 'string' }, mode: { type: 'string' }, state: { type: 'string' },
        'node-ip': { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        'dump-state': { type: 'string' },
      },
    });
  } catch (err) {
    throw new TraceInputError(describeError(err), { cause: err });
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (values['dump-state'] !== undefined) return { dump: await dumpState(values['dump-state'], values.mode, io) };
  if (positionals.length !== 1) throw new TraceInputError(positionals.length === 0 ? 'DEST is missing' : `one DEST expected, got ${positionals.join(' ')}`);
  const dest = parseDest(positionals[0] as string);
  const from = parseFrom(values.from, dest);
  const nodeIPs = (values['node-ip'] ?? []).map((s) => parseIP(s)?.ip ?? (() => {
    throw new TraceInputError(`--node-ip ${JSON.stringify(s)}: not an IP address`);
  })());
  if (values.state !== undefined) {
    let text: string;
    try {
      text = (io.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(values.state);
    } catch (err) {
      throw new TraceInputError(`--state ${values.state}: ${describeError(err)}`, { cause: err });
    }
    const tracer = values.mode !== undefined ? await modeByName(values.mode).trace() : await recognising(text);
    if (tracer === undefined) throw new TraceInputError(`--state ${values.state}: not a dump of any mode trace reads (${traceable().map((m) => m.name).join(', ')})`);
    return { report: tracer.trace(text, { dest, from, nodeAddresses: nodeIPs, saved: true }), json: values.json === true };
  }
  const candidates = values.mode !== undefined ? [modeByName(values.mode)] : traceable();
  for (const m of candidates) {
    const tracer = await m.trace();
    const state = await tracer.readState({ exec: io.exec, family: dest.family });
    if (state === null) continue;
    const addrs = (await localAddresses(io.exec, dest.family)).map((a) => a.ip);
    return { report: tracer.trace(state, { dest, from, nodeAddresses: [...addrs, ...nodeIPs], saved: false }), json: values.json === true };
  }
  throw new TraceInputError(
    values.mode !== undefined
      ? `mode ${values.mode} has nothing programmed for ${dest.family} on this node`
      : `no ${dest.family} rules of a mode trace reads (${traceable().map((m) => m.name).join(', ')}) are programmed on this node`,
  );
}

export async function runTraceCommand(argv: readonly string[], io: TraceCommandIO): Promise<number> {
  try {
    const r = await report(argv, io);
    if (r === 'help') {
      io.stdout(`${TRACE_USAGE}\n`);
      return 0;
    }
    if ('dump' in r) {
      io.stdout(r.dump);
      return 0;
    }
    io.stdout(r.json ? `${JSON.stringify(r.report, null, 2)}\n` : formatTrace(r.report));
    return traceExitCode(r.report);
  } catch (err) {
    io.stderr(`kube-proxy-ts trace: ${KubeProxyError.is(err) || err instanceof Error ? err.message : describeError(err)}\n`);
    return 2;
  }
}
