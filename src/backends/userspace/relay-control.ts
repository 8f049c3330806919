// The messages between the daemon's main thread and the kernel relay engine's worker thread
// (io/kernel-relay.ts ↔ io/relay-worker.ts), and the layout of the per-listener counters the
// worker keeps in shared memory so the main thread reads them without a round trip. Pure types.
import type { ServicePortName, SessionAffinity } from '../../model/types.ts';
import type { Target } from './load-balancer.ts';

/** Int32 slots of a listener's SharedArrayBuffer of counters. */
export const STAT_ACCEPTED = 0;
export const STAT_DIAL_FAILURES = 1;
export const STAT_REJECTED = 2;
export const STAT_CONNECTIONS = 3;
/** accept4 failures for want of fds or memory (each pauses the listener). */
export const STAT_ACCEPT_FAILURES = 4;
/**
 * The listening fd + 1 while the worker holds it open (0 otherwise; cleared before it is closed):
 * when a worker ends without its own cleanup (terminated, out of memory), the main thread closes
 * the listener it left behind, which would otherwise hold the proxy port and queue clients.
 */
export const STAT_LISTEN_FD = 5;
export const STAT_SLOTS = 6;

export type ToWorker =
  | {
      readonly op: 'listen';
      readonly id: number;
      readonly svc: number;
      readonly name: ServicePortName;
      readonly ip: string;
      readonly port: number;
      readonly stats: SharedArrayBuffer;
      readonly maxConnections: number;
      readonly drainTimeoutMs: number;
      readonly dialTimeoutsMs: readonly number[];
      /** The balancer's state when listening starts (none yet when the sync sets it just after). */
      readonly service:
        { readonly affinity: SessionAffinity; readonly targets: readonly Target[] } | undefined;
    }
  | {
      readonly op: 'service';
      readonly svc: number;
      readonly affinity: SessionAffinity;
      readonly targets: readonly Target[];
    }
  | { readonly op: 'drain'; readonly svc: number }
  | { readonly op: 'close'; readonly id: number; readonly svc: number }
  | { readonly op: 'stop' }
  /** Tests only: throw inside the loop (honoured only when the worker has test hooks). */
  | { readonly op: 'crash' };

export type FromWorker =
  | { readonly op: 'listening'; readonly id: number; readonly port: number }
  | { readonly op: 'failed'; readonly id: number; readonly syscall: string; readonly errno: number }
  | { readonly op: 'closed'; readonly id: number }
  | {
      readonly op: 'log';
      readonly level: 'warn' | 'error';
      readonly msg: string;
      readonly fields: Record<string, unknown>;
    };
