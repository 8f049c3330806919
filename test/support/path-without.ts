// A PATH on which some commands are not installed, for a daemon that must cope with a host lacking
// them (e.g. IPv4 iptables on an IPv6-only host image): a temporary directory of symlinks to every
// command of the usual bin directories except those whose name matches `leaveOut`. The commands
// that remain are the real ones; nothing is faked.
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_BIN, type Daemon } from './daemon.ts';
import { spawnIn } from './netns.ts';

const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function pathWithout(leaveOut: RegExp): { readonly path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kpt-v6g-path-'));
  for (const d of BIN_DIRS) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      // The first directory on the usual PATH wins, as it would for the shell.
      if (!leaveOut.test(name) && !existsSync(join(dir, name))) symlinkSync(join(d, name), join(dir, name));
    }
  }
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** startDaemon, with PATH set for the daemon (and so for every command it runs). */
export function startDaemonWithPath(ns: string, path: string, flags: readonly string[]): Daemon {
  const p = spawnIn(ns, '/usr/bin/env', [`PATH=${path}`, process.execPath, DAEMON_BIN, ...flags]);
  const exited = new Promise<number | string>((resolve) => {
    const done = (): void => resolve(p.child.exitCode ?? p.child.signalCode ?? -1);
    if (p.child.exitCode !== null || p.child.signalCode !== null) done();
    else p.child.once('close', done);
  });
  return { ...p, ns, exited };
}
