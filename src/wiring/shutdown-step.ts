// Part of the composition root (main.ts): one bounded step of the shutdown.
import { describeError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';

/** How long one shutdown step may take before the next one starts anyway. */
const SHUTDOWN_STEP_MS = 4_000;

export async function bounded(logger: Logger, step: string, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), SHUTDOWN_STEP_MS);
  });
  const outcome = await Promise.race([work.then(() => 'done' as const, (err: unknown) => err), late]);
  clearTimeout(timer);
  if (outcome === 'late') logger.warn({ step, waitedMs: SHUTDOWN_STEP_MS }, 'shutdown step still running; moving on');
  else if (outcome !== 'done') logger.warn({ step, reason: describeError(outcome) }, 'shutdown step failed; moving on');
}
