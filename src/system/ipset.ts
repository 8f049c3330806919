// ipset(8), the one place the daemon runs it: the ipvs mode's sets are loaded with one
// `ipset restore -exist`, listed, read back and destroyed by name.
import { ExecError } from '../errors.ts';
import type { Exec } from './exec.ts';

export interface Ipset {
  /** `ipset restore -exist` of a whole script (create/add/del/flush lines). */
  restore(script: string): Promise<void>;
  /** Names of the sets in the kernel; null when `ipset list -n` fails (no binary, no ip_set module). */
  listNames(): Promise<Set<string> | null>;
  /** `ipset save NAME`; null when the set does not exist (or ipset cannot run). */
  save(name: string): Promise<string | null>;
  /** `ipset destroy NAME`; false when the set was not there. */
  destroy(name: string): Promise<boolean>;
}

export function createIpset(exec: Exec): Ipset {
  return {
    async restore(script) {
      await exec('ipset', ['restore', '-exist'], { input: script, timeoutMs: 60_000 });
    },
    async listNames() {
      try {
        const { stdout } = await exec('ipset', ['list', '-n'], { timeoutMs: 10_000 });
        return new Set(stdout.split('\n').map((n) => n.trim()).filter((n) => n !== ''));
      } catch (err) {
        void err; // reported by the callers' outcome: nothing of ours to find
        return null;
      }
    },
    async save(name) {
      try {
        return (await exec('ipset', ['save', name], { timeoutMs: 10_000 })).stdout;
      } catch (err) {
        void err; // the set does not exist
        return null;
      }
    },
    async destroy(name) {
      try {
        await exec('ipset', ['destroy', name], { timeoutMs: 10_000 });
        return true;
      } catch (err) {
        if (err instanceof ExecError && /does not exist/.test(err.stderr)) return false;
        throw err;
      }
    },
  };
}
