// `kube-proxy-ts status [--url URL] [--json] [--verify]`: asks the running daemon (its metrics server's
// /kubeproxyts/status, DAEMON_STATUS_PATH; by default the default metricsBindAddress, 127.0.0.1:10249) and prints its mode,
// back-end, version and, per family, health, what is programmed, the last sync and failures.
// Exit 0 when every family is healthy, 1 when one is not or the daemon does not answer, 2 on bad
// input.
import { parseArgs } from 'node:util';
import { describeError, TraceInputError } from '../../errors.ts';
import type { TraceCommandIO } from '../../trace/io/trace-command.ts';
import { DAEMON_STATUS_PATH, formatStatus, formatVerify, type DaemonStatus } from '../daemon-status.ts';

export const DEFAULT_STATUS_URL = 'http://127.0.0.1:10249';

function options(argv: readonly string[]): { url: URL; json: boolean; verify: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { url: { type: 'string' }, json: { type: 'boolean' }, verify: { type: 'boolean' } } });
  } catch (err) {
    throw new TraceInputError(describeError(err), { cause: err });
  }
  const text = parsed.values.url ?? DEFAULT_STATUS_URL;
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch (err) {
    throw new TraceInputError(`--url ${JSON.stringify(text)}: not a URL`, { cause: err });
  }
  return { url, json: parsed.values.json === true, verify: parsed.values.verify === true };
}

export async function runStatusCommand(argv: readonly string[], io: Pick<TraceCommandIO, 'stdout' | 'stderr'>): Promise<number> {
  let opts;
  try {
    opts = options(argv);
  } catch (err) {
    io.stderr(`kube-proxy-ts status: ${err instanceof Error ? err.message : describeError(err)}\n`);
    return 2;
  }
  const target = new URL(DAEMON_STATUS_PATH, opts.url);
  let status: DaemonStatus;
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(5_000) });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    status = (await res.json()) as DaemonStatus;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : describeError(err);
    io.stderr(`kube-proxy-ts status: no answer from the daemon at ${target.href}: ${cause}\n`);
    return 1;
  }
  if (opts.verify) {
    const v = formatVerify(status);
    io.stdout(opts.json ? `${JSON.stringify(Object.fromEntries(Object.entries(status.families).map(([f, x]) => [f, x?.drift ?? null])), null, 2)}\n` : v.text);
    return v.drifted ? 1 : 0;
  }
  io.stdout(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return status.health['healthy'] === false ? 1 : 0;
}
