// The kernel relay engine's thread (started by kernel-relay.ts): it blocks in epoll_wait, which
// is why it is not the daemon's main thread. Control messages arrive on `port` and are read
// synchronously when the main thread's eventfd write wakes the loop.
import { isMainThread, parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../relay-control.ts';
import { RelayEngine } from './relay-engine.ts';

export interface RelayWorkerData {
  /** The eventfd the main thread writes after each message. */
  readonly wakeFd: number;
  readonly port: MessagePort;
  readonly failureBackoffMs: number;
  /** Bytes read per recv: also the most held in user space per direction (back-pressure). */
  readonly bufferSize: number;
  /** splice(2) through pipes instead of recv/send (see EngineOptions.splice). */
  readonly splice: boolean;
  /** One Int32: the engine's epoll fd + 1 while open (EngineOptions.epollSlot). */
  readonly epollSlot: SharedArrayBuffer;
  /** Tests only (see RelayTestHooks); absent in the daemon. */
  readonly testHooks?: RelayTestHooks;
}

/**
 * What a test may make the worker do to exercise the supervisor in kernel-relay.ts: with hooks set,
 * a `crash` control message throws inside the loop; `crashOnStart` throws on the loop's first turn,
 * every start (a worker that can never run).
 */
export interface RelayTestHooks {
  readonly crashOnStart?: boolean;
}

function run(data: RelayWorkerData): void {
  const reply = (m: FromWorker): void => parentPort?.postMessage(m);
  try {
    new RelayEngine({
      wakeFd: data.wakeFd,
      receive: () => receiveMessageOnPort(data.port)?.message as ToWorker | undefined,
      reply,
      failureBackoffMs: data.failureBackoffMs,
      bufferSize: data.bufferSize,
      splice: data.splice,
      epollSlot: new Int32Array(data.epollSlot),
      ...(data.testHooks === undefined ? {} : { testHooks: data.testHooks }),
      now: () => performance.now(),
    }).run();
  } finally {
    data.port.close();
  }
}

// Only as the relay thread: imported anywhere else (the image's module check, a tool) it does nothing.
const data = workerData as RelayWorkerData | null;
if (!isMainThread && data !== null) run(data);
