// Applies the userspace portals: one iptables-restore per sync, through src/system/iptables.ts as
// every mode's rules (its lock wait, timeout and failing-line context). The jumps from the
// built-in chains cannot be made idempotent inside a --noflush restore (a second -I duplicates),
// so they are looked up with iptables-save only when they may have gone: on the first sync, on
// full syncs and after a failure; every other sync is the single restore.
import { KubeProxyError } from '../../errors.ts';
import type { IPFamily } from '../../model/types.ts';
import type { Iptables } from '../../system/iptables.ts';
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
  /** The family's iptables on the back-end detected at start. */
  readonly iptables: Iptables;
  readonly family: IPFamily;
  readonly listenIP: string;
  readonly hostIP: string;
}

export class PortalApplier {
  readonly #o: PortalApplierOptions;
  #present: Set<string> | null = null;

  constructor(options: PortalApplierOptions) {
    this.#o = options;
  }

  async #lookupJumps(): Promise<Set<string>> {
    return new Set(parseJumps(await this.#o.iptables.save()).map((j) => j.key));
  }

  /** Rewrite our chains with `portals`; `recheck` re-reads which jumps exist first. */
  async apply(portals: readonly Portal[], recheck: boolean): Promise<RenderedPortals> {
    try {
      if (recheck || this.#present === null) this.#present = await this.#lookupJumps();
      const rendered = renderPortals(portals, this.#o, this.#present);
      await this.#o.iptables.restore(rendered.text);
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
      await this.#o.iptables.restore(renderParked(ports, this.#present));
    } catch (err) {
      this.#present = null;
      throw new KubeProxyError('KP_ERR_RULES_APPLY', 'userspace: writing the stop-time hold rules failed', { cause: err });
    }
  }

  /** Remove the jumps and our chains (upstream CleanupLeftovers). */
  async cleanup(): Promise<void> {
    try {
      await this.#o.iptables.restore(renderCleanup(parseJumps(await this.#o.iptables.save())));
      this.#present = null;
    } catch (err) {
      throw new KubeProxyError('KP_ERR_RULES_APPLY', 'userspace: removing the portal rules failed', { cause: err });
    }
  }
}
