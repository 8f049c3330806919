// The test side of test/support/userspace-proxy-runner.ts: its path, and a sender that writes one
// JSON command per line and waits for that command's own answer (`ok <id> …` / `error <id> …`).
import { fileURLToPath } from 'node:url';
import type { NsProcess } from './netns.ts';

export const USERSPACE_RUNNER = fileURLToPath(new URL('./userspace-proxy-runner.ts', import.meta.url));

/** Sends commands to one runner process; resolves with the answer's payload, rejects on `error`. */
export function runnerSender(p: NsProcess): (cmd: object) => Promise<string> {
  let seq = 0;
  return async (cmd) => {
    const id = ++seq;
    p.write(`${JSON.stringify(cmd)}\n`);
    const line = await p.waitForLine((l) => l.startsWith(`ok ${id} `) || l.startsWith(`error ${id} `), 60_000);
    if (line.startsWith('error')) throw new Error(line);
    return line.slice(`ok ${id} `.length);
  };
}
