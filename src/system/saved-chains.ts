// Chain names declared in `iptables-save` output (`:NAME POLICY [p:b]` lines), read chunk by chunk
// as the tool writes them. At 10k Services × 10 endpoints the nat table's listing is ~30 MB: made
// into one string it is held twice over while it is read (the Buffers, then an external string),
// and every chain name sliced out of it keeps the whole of it alive for as long as the names live
// (V8 slices substrings of 13 characters or more). Here each name is decoded from its own bytes,
// so nothing of the listing outlives the scan.

const NEWLINE = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;

export class SavedChainScanner {
  readonly #chains: string[] = [];
  /** The start of a line the previous chunk ended in the middle of. */
  #carry: Buffer | undefined;

  push(chunk: Buffer): void {
    let start = 0;
    if (this.#carry !== undefined) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.#carry = Buffer.concat([this.#carry, chunk]);
        return;
      }
      this.#line(Buffer.concat([this.#carry, chunk.subarray(0, nl)]), 0, this.#carry.length + nl);
      this.#carry = undefined;
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      this.#line(chunk, start, nl);
      start = nl + 1;
    }
    // A copy, so the carried bytes do not pin the whole chunk.
    if (start < chunk.length) this.#carry = Buffer.from(chunk.subarray(start));
  }

  /** The names seen, in order; a last line without a newline counts. */
  end(): string[] {
    if (this.#carry !== undefined) this.#line(this.#carry, 0, this.#carry.length);
    this.#carry = undefined;
    return this.#chains;
  }

  #line(buf: Buffer, start: number, end: number): void {
    if (buf[start] !== COLON) return;
    const space = buf.indexOf(SPACE, start + 1);
    const stop = space < 0 || space > end ? end : space;
    if (stop > start + 1) this.#chains.push(buf.toString('latin1', start + 1, stop));
  }
}

/** The chain names of a listing held as a string (small tables, tests). */
export function savedChains(saved: string): string[] {
  const scanner = new SavedChainScanner();
  scanner.push(Buffer.from(saved, 'utf8'));
  return scanner.end();
}
