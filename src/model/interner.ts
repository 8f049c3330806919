// One copy of each of the few strings most endpoints repeat. Every endpoint of a 10k×10 cluster
// names its node and zone; decoded from JSON, each is a string of its own (~24 bytes each, ~5 MiB
// for the two at 100k endpoints) although a cluster has a few hundred distinct values. Bounded:
// when it holds `limit` strings it starts over, so names of long-gone nodes are not kept forever.

export class Interner {
  readonly #strings = new Map<string, string>();
  readonly #limit: number;

  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  /** The copy already held equal to `s`, else `s` (now held). */
  intern(s: string): string {
    const held = this.#strings.get(s);
    if (held !== undefined) return held;
    if (this.#strings.size >= this.#limit) this.#strings.clear();
    this.#strings.set(s, s);
    return s;
  }

  get size(): number {
    return this.#strings.size;
  }
}
