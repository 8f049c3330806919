// One table's chain digests (rule count and hash per chain name), compact: at 10k Services × 10
// endpoints a table holds ~110k chains, and a `{ rules, hash }` object per chain (plus the boxed
// double a hash above 2^31 needs) cost ~56 bytes each on top of the map entry. Here a chain is a
// slot number in the map and two entries of flat Uint32Arrays. Pure.
import { detached } from '../../common/line-splitter.ts';

export interface ChainDigest {
  rules: number;
  hash: number;
}

export class DigestTable {
  readonly #slots = new Map<string, number>();
  #rules = new Uint32Array(64);
  #hash = new Uint32Array(64);
  #next = 0;
  /** Slots of deleted chains, reused first. */
  readonly #free: number[] = [];

  get size(): number {
    return this.#slots.size;
  }

  has(name: string): boolean {
    return this.#slots.has(name);
  }

  get(name: string): ChainDigest | undefined {
    const s = this.#slots.get(name);
    return s === undefined ? undefined : { rules: this.#rules[s] as number, hash: this.#hash[s] as number };
  }

  set(name: string, d: ChainDigest): void {
    let s = this.#slots.get(name);
    if (s === undefined) {
      s = this.#free.pop() ?? this.#grow();
      this.#slots.set(name, s);
    }
    this.#rules[s] = d.rules;
    this.#hash[s] = d.hash;
  }

  /** One more rule in `name` (declared now if it was not): count + 1, hash = mix(hash). */
  update(name: string, empty: number, mix: (hash: number) => number): void {
    let s = this.#slots.get(name);
    if (s === undefined) {
      // A copy: a name sliced from a listing chunk would keep the chunk alive.
      const own = detached(name);
      this.set(own, { rules: 0, hash: empty });
      s = this.#slots.get(own) as number;
    }
    this.#rules[s] = (this.#rules[s] as number) + 1;
    this.#hash[s] = mix(this.#hash[s] as number);
  }

  delete(name: string): void {
    const s = this.#slots.get(name);
    if (s === undefined) return;
    this.#slots.delete(name);
    this.#free.push(s);
  }

  *[Symbol.iterator](): Generator<[string, ChainDigest]> {
    for (const [name, s] of this.#slots) yield [name, { rules: this.#rules[s] as number, hash: this.#hash[s] as number }];
  }

  #grow(): number {
    if (this.#next === this.#rules.length) {
      const rules = new Uint32Array(this.#rules.length * 2);
      rules.set(this.#rules);
      this.#rules = rules;
      const hash = new Uint32Array(this.#hash.length * 2);
      hash.set(this.#hash);
      this.#hash = hash;
    }
    return this.#next++;
  }
}
