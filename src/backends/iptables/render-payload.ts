// The restore payload (render-assemble.ts builds it, the applier streams it to iptables-restore's
// stdin): the filter table as one string, then the nat table as chunks made on demand.
/**
 * The whole `iptables-restore` input, `*filter … COMMIT` then `*nat … COMMIT`. Iterating it
 * yields the filter table, then the nat table in chunks of a few hundred KB, each made only when
 * asked for: the applier writes them to iptables-restore's stdin with back-pressure, so a 30 MB
 * payload is never held in memory at once (nor joined into one string or Buffer). Every
 * iteration renders the chunks anew, identically; `text`, `filter` and `nat` join on demand
 * (dry-run, tests).
 */
export class RestorePayload implements Iterable<string> {
  readonly filter: string;
  readonly #nat: (chunkLines?: number) => Iterable<string>;

  /** `nat(chunkLines)` renders the nat table in chunks of that many lines (default: render-lines.ts). */
  constructor(filter: string, nat: (chunkLines?: number) => Iterable<string>) {
    this.filter = filter;
    this.#nat = nat;
  }

  /** The payload's chunks, in order (this payload itself: it is re-iterable). */
  get chunks(): Iterable<string> {
    return this;
  }

  *[Symbol.iterator](): Iterator<string> {
    yield this.filter;
    yield* this.#nat();
  }

  /**
   * The same text in chunks of `lines` lines: for a reader that allocates much per line (the drift
   * digest), so that each chunk dies in the young generation instead of being promoted.
   */
  *chunksOf(lines: number): Generator<string> {
    yield this.filter;
    yield* this.#nat(lines);
  }

  get text(): string {
    return [...this].join('');
  }

  get nat(): string {
    return [...this.#nat()].join('');
  }
}
