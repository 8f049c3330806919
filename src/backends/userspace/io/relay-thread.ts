// One run of the kernel relay engine's worker thread (relay-worker.ts) seen from the main thread:
// start it, send it control messages, await its answers, learn when and why it ended. A thread
// that died is not reused: kernel-relay.ts starts another RelayThread and re-opens its listeners.
//
// Control is postMessage + a write to an eventfd the worker's epoll watches (the worker never
// returns to its own event loop, so a message alone would not wake it).
import { MessageChannel, Worker } from 'node:worker_threads';
import * as c from '../../../../native/libc-sockets.ts';
import { KubeProxyError } from '../../../errors.ts';
import type { Logger } from '../../../model/logger.ts';
import type { FromWorker, ToWorker } from '../relay-control.ts';
import type { RelayWorkerData } from './relay-worker.ts';

export type Reply = Extract<FromWorker, { id: number }>;

/** How a thread ended: asked to (`stop`), or not (an error thrown in its loop, or an exit). */
export interface ThreadEnd {
  readonly requested: boolean;
  readonly exitCode: number;
  /** The error the thread died of, when it threw one. */
  readonly err: Error | undefined;
}

export class RelayThread {
  readonly #logger: Logger;
  readonly #worker: Worker;
  readonly #port: MessageChannel['port1'];
  readonly #wakeFd: number;
  readonly #wake = new Uint8Array(8);
  /** The worker's epoll fd + 1 while it holds it (see EngineOptions.epollSlot). */
  readonly #epollSlot = new Int32Array(new SharedArrayBuffer(4));
  readonly #waiting = new Map<number, (r: Reply | Error) => void>();
  /** Resolves once the thread is gone, with how it ended. */
  readonly ended: Promise<ThreadEnd>;
  #alive = true;
  #stopRequested = false;
  #err: Error | undefined;

  constructor(logger: Logger, data: Omit<RelayWorkerData, 'wakeFd' | 'port' | 'epollSlot'>) {
    this.#logger = logger;
    this.#wakeFd = c.check('eventfd', c.eventfd(0, c.EFD_CLOEXEC | c.EFD_NONBLOCK));
    new DataView(this.#wake.buffer).setBigUint64(0, 1n, true);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const workerData: RelayWorkerData = {
      ...data,
      wakeFd: this.#wakeFd,
      port: port2,
      epollSlot: this.#epollSlot.buffer as SharedArrayBuffer,
    };
    // Sources run as .ts (type stripping) or, built, as .js beside this file.
    const file = import.meta.url.endsWith('.ts') ? './relay-worker.ts' : './relay-worker.js';
    this.#worker = new Worker(new URL(file, import.meta.url), { workerData, transferList: [port2] });
    this.#worker.on('message', (m: FromWorker) => this.#onMessage(m));
    // 'error' (an uncaught throw) comes before 'exit': kept so the exit can name its cause.
    this.#worker.on('error', (err) => (this.#err = err));
    this.ended = new Promise((resolve) => {
      this.#worker.once('exit', (exitCode) => {
        this.#alive = false;
        for (const done of this.#waiting.values())
          done(new KubeProxyError('KP_ERR_NATIVE', 'userspace: TCP relay worker exited'));
        this.#waiting.clear();
        c.close(this.#wakeFd);
        // Left open only by a worker that could not clean up (terminated, out of memory).
        const ep = Atomics.exchange(this.#epollSlot, 0, 0) - 1;
        if (ep >= 0) c.close(ep);
        resolve({ requested: this.#stopRequested, exitCode, err: this.#err });
      });
    });
    // The daemon's lifetime is decided elsewhere: the worker alone keeps nothing running.
    this.#worker.unref();
    this.#port.unref();
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Close every listener and connection and end the thread. */
  async stop(): Promise<ThreadEnd> {
    this.#stopRequested = true;
    if (this.#alive) this.send({ op: 'stop' });
    return this.ended;
  }

  /** End the thread abruptly, without its own cleanup (tests of the supervisor). */
  async terminate(): Promise<ThreadEnd> {
    await this.#worker.terminate();
    return this.ended;
  }

  send(m: ToWorker): void {
    if (!this.#alive) throw new KubeProxyError('KP_ERR_NATIVE', 'userspace: TCP relay worker is not running');
    this.#port.postMessage(m);
    c.write(this.#wakeFd, this.#wake, 8);
  }

  request(m: ToWorker & { id: number }): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#waiting.set(m.id, (r) => (r instanceof Error ? reject(r) : resolve(r)));
      // An answer awaited keeps the process alive (an unref'd worker alone would not).
      if (this.#waiting.size === 1) this.#worker.ref();
      try {
        this.send(m);
      } catch (err) {
        this.#waiting.delete(m.id);
        if (this.#waiting.size === 0) this.#worker.unref();
        reject(err instanceof Error ? err : new KubeProxyError('KP_ERR_NATIVE', String(err)));
      }
    });
  }

  #onMessage(m: FromWorker): void {
    if (m.op === 'log') {
      this.#logger[m.level](m.fields, m.msg);
      return;
    }
    const done = this.#waiting.get(m.id);
    this.#waiting.delete(m.id);
    if (this.#waiting.size === 0) this.#worker.unref();
    done?.(m);
  }
}
