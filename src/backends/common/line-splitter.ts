// Lines of a text that arrives in chunks (an iptables-save listing as the tool writes it), handed
// over one by one without ever splitting the whole text at once: a 10k-Service nat listing is
// ~31 MB, and all of its 300k lines alive at once cost as much again. A line may be a slice of its
// chunk (V8 substrings): a consumer that keeps one copies it (detached()). Pure.

/** Chunks longer than this are cut first, so one split never makes more than a slice's lines. */
const SLICE = 1 << 16;

export class LineSplitter {
  readonly #onLine: (line: string) => void;
  /** The start of a line the previous chunk ended in the middle of. */
  #carry = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: string): void {
    if (chunk.length > SLICE) {
      for (let i = 0; i < chunk.length; i += SLICE) this.push(chunk.slice(i, i + SLICE));
      return;
    }
    const lines = (this.#carry + chunk).split('\n');
    this.#carry = detached(lines.pop() ?? '');
    for (const l of lines) this.#onLine(l);
  }

  /** A last line without a newline counts. */
  end(): void {
    if (this.#carry !== '') this.#onLine(this.#carry);
    this.#carry = '';
  }
}

/**
 * A flat copy of `s` that does not keep the string it was sliced from alive. JSON.parse makes a
 * new sequential string; `(' ' + s).slice(1)` did not do: V8 flattened the cons string and then
 * sliced it, a 32-byte slice over a 48-byte copy per chain name (heap snapshot at 10k).
 */
export function detached(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
