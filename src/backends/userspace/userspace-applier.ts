// Applies the userspace portals: one `iptables-restore --noflush -w` per sync. The jumps from the
// built-in chains cannot be made idempotent inside a --noflush restore (a second -I duplicates),
// so they are looked up with iptables-save only when they may have gone: on the first sync, on
// full syncs and after a failure; every other sync is the single restore.
import { KubeProxyError } from '../../errors.ts';
import type { IPFamily } from '../../model/types.ts';
import type { Exec } from '../../system/exec.ts';
import {
  JUMPS,
  parseJumps,
  renderCleanup,
  renderParked,
  renderPortals,
  type ParkedPort,
  type Portal,
  type RenderedPortals,
} from './portal-rules.ts';

export interface PortalApplierOptions {
  readonly exec: Exec;
  readonly family: IPFamily;
  readonly listenIP: string;
  readonly hostIP: string;
  /** Defaults: iptables-restore / iptables-save (ip6tables-* for IPv6). */
  readonly restoreCommand?: string;
  readonly saveCommand?: string;
}

export class PortalApplier {
  readonly #o: PortalApplierOptions;
  readonly #restore: string;
  readonly #save: string;
  #present: Set<string> | null = null;

  constructor(options: PortalApplierOptions) {
    this.#o = options;
    const v6 = options.family === 'IPv6';
    this.#restore = options.restoreCommand ?? (v6 ? 'ip6tables-restore' : 'iptables-restore');
    this.#save = options.saveCommand ?? (v6 ? 'ip6tables-save' : 'iptables-save');
  }

  async #lookupJumps(): Promise<Set<string>> {
    const { stdout } = await this.#o.exec(this.#save, [], { timeoutMs: 30_000 });
    return new Set(parseJumps(stdout).map((j) => j.key));
  }

  /** Rewrite our chains with `portals`; `recheck` re-reads which jumps exist first. */
  async apply(portals: readonly Portal[], recheck: boolean): Promise<RenderedPortals> {
    try {
      if (recheck || this.#present === null) this.#present = await this.#lookupJumps();
      const rendered = renderPortals(portals, this.#o, this.#present);
      await this.#o.exec(this.#restore, ['--noflush', '-w'], { input: rendered.text, timeoutMs: 60_000 });
      // The restore added whatever was missing: every jump is there now.
      this.#present = new Set(JUMPS.map((j) => `${j.chain}>${j.target}`));
      return rendered;
    } catch (err) {
      this.#present = null;
      throw new KubeProxyError('KP_ERR_RULES_APPLY', 'userspace: applying the portal rules failed', { cause: err });
    }
  }

  /** The daemon is stopping: hold what the portals redirect to `ports` (see renderParked). */
  async park(ports: readonly ParkedPort[]): Promise<void> {
    try {
      if (this.#present === null) this.#present = await this.#lookupJumps();
      await this.#o.exec(this.#restore, ['--noflush', '-w'], { input: renderParked(ports, this.#present), timeoutMs: 30_000 });
    } catch (err) {
      this.#present = null;
      throw new KubeProxyError('KP_ERR_RULES_APPLY', 'userspace: writing the stop-time hold rules failed', { cause: err });
    }
  }

  /** Remove the jumps and our chains (upstream CleanupLeftovers). */
  async cleanup(): Promise<void> {
    try {
      const { stdout } = await this.#o.exec(this.#save, [], { timeoutMs: 30_000 });
      await this.#o.exec(this.#restore, ['--noflush', '-w'], { input: renderCleanup(parseJumps(stdout)), timeoutMs: 60_000 });
      this.#present = null;
    } catch (err) {
      throw new KubeProxyError('KP_ERR_RULES_APPLY', 'userspace: removing the portal rules failed', { cause: err });
    }
  }
}
