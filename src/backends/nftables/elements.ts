// The elements of the shared sets and verdict maps, kept in memory between syncs so a partial
// sync writes only what changed (upstream nftElementStorage, without its per-sync kernel read).
// A key can be wanted by several service ports (two ports of one Service share its ClusterIP in
// cluster-ips, two Services the same local endpoint in hairpin-connections), so each key keeps
// its owners; the kernel holds it while one owner does.
import type { Container, Element } from './plan-port.ts';

interface Entry {
  /** Owner -> tail it wants (the first owner's wins; owners conflict only on bad input). */
  readonly owners: Map<string, string>;
  /** What the kernel has (after the last successful transaction), undefined: absent. */
  applied: string | undefined;
}

export interface ElementOp {
  readonly op: 'add' | 'delete';
  readonly container: Container;
  readonly key: string;
  readonly tail: string;
}

export class ElementTable {
  readonly #entries = new Map<string, Entry>();
  readonly #dirty = new Set<string>();

  static #id(container: Container, key: string): string {
    return `${container}\u0000${key}`;
  }

  #entry(id: string): Entry {
    let e = this.#entries.get(id);
    if (e === undefined) {
      e = { owners: new Map(), applied: undefined };
      this.#entries.set(id, e);
    }
    return e;
  }

  /** Replace `owner`'s elements: `before` (what it wanted last time) by `after`. */
  replace(owner: string, before: readonly Element[], after: readonly Element[]): void {
    for (const el of before) {
      const id = ElementTable.#id(el.container, el.key);
      const e = this.#entries.get(id);
      if (e?.owners.delete(owner) === true) this.#dirty.add(id);
    }
    for (const el of after) {
      const id = ElementTable.#id(el.container, el.key);
      this.#entry(id).owners.set(owner, el.tail);
      this.#dirty.add(id);
    }
  }

  /**
   * The operations that bring the kernel from `applied` to what the owners want, for the keys
   * touched since the last call (all keys when `all`: after a flush every wanted key is added).
   * `applied` is updated at once: a failed transaction drops the whole table (full sync next).
   */
  diff(all: boolean): ElementOp[] {
    const ops: ElementOp[] = [];
    const ids = all ? [...this.#entries.keys()] : [...this.#dirty];
    this.#dirty.clear();
    for (const id of ids) {
      const e = this.#entries.get(id);
      if (e === undefined) continue;
      const sep = id.indexOf('\u0000');
      const container = id.slice(0, sep) as Container;
      const key = id.slice(sep + 1);
      const want = e.owners.values().next().value;
      if (all) {
        if (want !== undefined) ops.push({ op: 'add', container, key, tail: want });
      } else if (want !== e.applied) {
        if (e.applied !== undefined) ops.push({ op: 'delete', container, key, tail: '' });
        if (want !== undefined) ops.push({ op: 'add', container, key, tail: want });
      }
      e.applied = want;
      if (want === undefined) this.#entries.delete(id);
    }
    return ops;
  }

  get size(): number {
    return this.#entries.size;
  }
}
