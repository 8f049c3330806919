// The root pino logger, built once by main.ts: JSON lines on a synchronous stderr destination (no
// transports or worker threads in the DaemonSet), errors under `err` with pino's serializer, and
// klog's -v mapped onto levels (0-1 info, 2-4 debug, 5+ trace). `text` is a small human format
// for terminals, written by a formatting destination rather than pino-pretty. Logs go to stderr in
// every format, as klog's do: stdout carries only what a command is asked to print (--dry-run's
// rules, --version, --help), so `kube-proxy-ts --dry-run … | iptables-restore --test` works.
import pino, { type DestinationStream, type Level, type LevelWithSilent, type Logger as PinoLogger } from 'pino';

export interface LoggerOptions {
  readonly format: 'json' | 'text';
  /** klog verbosity (-v); ignored when `level` is given. */
  readonly verbosity?: number;
  readonly level?: LevelWithSilent;
  /** Where lines go; default a synchronous stderr (file descriptor 2). */
  readonly destination?: DestinationStream;
}

/** klog -v to a pino level (DEVELOPERS.md, ecosystem.md §4). */
export function levelForVerbosity(v: number): Level {
  if (v >= 5) return 'trace';
  if (v >= 2) return 'debug';
  return 'info';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function quote(value: unknown): string {
  if (typeof value === 'string') return /^[\w./:@+-]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    const err = value as { type?: unknown; message?: unknown; code?: unknown };
    // A serialized error: its message (and code) read better than the whole object on one line.
    if (typeof err.message === 'string' && typeof err.type === 'string') {
      return JSON.stringify(`${err.type}: ${err.message}${typeof err.code === 'string' ? ` (${err.code})` : ''}`);
    }
  }
  return JSON.stringify(value) ?? String(value);
}

/** One JSON log line as `TIME LEVEL msg key=value …`. */
export function formatText(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    // Not ours to drop: pass the line through unchanged, noting why it was not formatted.
    return `${line.trimEnd()} (unformatted: ${err instanceof Error ? err.message : String(err)})\n`;
  }
  const time = typeof rec['time'] === 'string' ? rec['time'] : new Date(Number(rec['time'])).toISOString();
  const level = LEVEL_NAMES[Number(rec['level'])] ?? String(rec['level']);
  const fields = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${quote(v)}`);
  return `${time} ${level.padEnd(5)} ${String(rec['msg'] ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}\n`;
}

function textDestination(out: DestinationStream): DestinationStream {
  return {
    write(chunk: string): void {
      // pino writes one record per call, ending in a newline.
      for (const line of chunk.split('\n')) if (line.length > 0) out.write(formatText(line));
    },
  };
}

/** The file descriptor logs are written to when no destination is given: stderr, as klog. */
export const LOG_FD = 2;

export function createLogger(opts: LoggerOptions): PinoLogger {
  const out = opts.destination ?? pino.destination({ dest: LOG_FD, sync: true });
  return pino(
    {
      level: opts.level ?? levelForVerbosity(opts.verbosity ?? 0),
      serializers: { err: pino.stdSerializers.err },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.format === 'text' ? textDestination(out) : out,
  );
}
