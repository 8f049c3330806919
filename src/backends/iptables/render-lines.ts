// Restore lines collected as a few large chunks: lines are joined every CHUNK lines, so the
// many small per-line strings die young (cheap scavenges) instead of being promoted and then
// copied once more by one huge join; the payload is one final join of ~100 chunks.
const CHUNK = 2048;

export class Lines {
  #buf: string[] = [];
  readonly #chunks: string[] = [];
  /** Lines pushed so far. */
  count = 0;

  push(line: string): void {
    this.#buf.push(line);
    this.count++;
    if (this.#buf.length >= CHUNK) this.#flush();
  }

  #flush(): void {
    // A trailing '' gives the chunk its final newline without another concatenation.
    this.#buf.push('');
    this.#chunks.push(this.#buf.join('\n'));
    this.#buf = [];
  }

  /** Append this sink's text (every line newline-terminated) to `out`. */
  drainTo(out: string[]): void {
    if (this.#buf.length > 0) this.#flush();
    for (const c of this.#chunks) out.push(c);
  }
}
