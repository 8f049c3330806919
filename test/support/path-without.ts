// A PATH on which some commands are not installed, for a daemon that must cope with a host lacking
// them (e.g. IPv4 iptables on an IPv6-only host image): a temporary directory of symlinks to every
// command of the usual bin directories except those whose name matches `leaveOut`. The commands
// that remain are the real ones; nothing is faked.
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
