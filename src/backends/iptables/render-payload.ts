// The restore payload as chunks (render.ts builds it, the applier streams it to iptables-restore's
// stdin): pieces are only joined where they are small, never into one 30 MB string.
/** Pieces below this size are merged with their neighbours into one chunk. */
const MIN_CHUNK = 64 * 1024;

/** Appends pieces of text to `out` as chunks of at least MIN_CHUNK (except the last). */
export class ChunkJoiner {
  readonly #out: string[];
  #small: string[] = [];
  #smallLength = 0;
  constructor(out: string[]) {
    this.#out = out;
  }

  add(piece: string): void {
    if (piece.length >= MIN_CHUNK) {
      this.#flush();
      this.#out.push(piece);
      return;
    }
    this.#small.push(piece);
    this.#smallLength += piece.length;
    if (this.#smallLength >= MIN_CHUNK) this.#flush();
  }

  end(): void {
    this.#flush();
  }

  #flush(): void {
    if (this.#small.length === 0) return;
    this.#out.push(this.#small.length === 1 ? (this.#small[0] as string) : this.#small.join(''));
    this.#small = [];
    this.#smallLength = 0;
  }
}

/**
 * The whole `iptables-restore` input, `*filter … COMMIT` then `*nat … COMMIT`, as chunks of up to
 * a few hundred KB in order: the applier writes them to iptables-restore's stdin one by one, so a
 * 30 MB payload is never joined into one string (nor copied into one Buffer) in the daemon.
 * `text`, `filter` and `nat` join on demand (dry-run, tests).
 */
export class RestorePayload {
  readonly chunks: readonly string[];
  /** chunks[0, filterChunks) are the filter table, the rest the nat table. */
  readonly #filterChunks: number;
  constructor(chunks: readonly string[], filterChunks: number) {
    this.chunks = chunks;
    this.#filterChunks = filterChunks;
  }

  get text(): string {
    return this.chunks.join('');
  }

  get filter(): string {
    return this.chunks.slice(0, this.#filterChunks).join('');
  }

  get nat(): string {
    return this.chunks.slice(this.#filterChunks).join('');
  }
}
