// When a rule-writing proxier rewrites everything instead of only what changed, the policy the
// iptables and ipvs proxiers share (upstream proxier.go needFullSync): full at start, whenever the
// sync loop asks (state.full: first sync, periodic resync), and after any failure, until a sync
// succeeds; a mode adds its own reasons (a vanished canary, a model it no longer trusts). Pure.

export class FullSyncPolicy {
  #needFull = true;

  /** Whether the next sync will be full on the policy's own account. */
  get pending(): boolean {
    return this.#needFull;
  }

  /** Whether this sync is full: asked for by the loop, or owed since start or a failure. */
  isFull(requested: boolean): boolean {
    return requested || this.#needFull;
  }

  /** A failure (or a reason the kernel may differ from what was written): the next sync is full. */
  requireFull(): void {
    this.#needFull = true;
  }

  /** The sync was applied whole: later ones may be partial. */
  succeeded(): void {
    this.#needFull = false;
  }
}
