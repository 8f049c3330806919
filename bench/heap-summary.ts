// Summarises a V8 .heapsnapshot (from daemon-memory-profile.ts with PROFILE_SNAPSHOTS=1): self size
// by node type, and the largest groups by type and constructor/name (strings by kind), so a
// breakdown of the live heap (model, memo, module code) needs no DevTools. Self sizes only: a
// group's total is what its objects themselves take, not what they keep alive.
// Run: node bench/heap-summary.ts FILE.heapsnapshot [TOP]
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: heap-summary.ts FILE.heapsnapshot [TOP]');
const top = Number(process.argv[3] ?? 30);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const iType = fields.indexOf('type');
const iName = fields.indexOf('name');
const iSize = fields.indexOf('self_size');
const byType = new Map<string, [number, number]>();
const byName = new Map<string, [number, number]>();
const add = (m: Map<string, [number, number]>, k: string, size: number): void => {
  const e = m.get(k);
  if (e === undefined) m.set(k, [size, 1]);
  else {
    e[0] += size;
    e[1] += 1;
  }
};
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + iType] as number] ?? '?';
  const size = snap.nodes[i + iSize] as number;
  total += size;
  add(byType, type, size);
  // Strings and code are grouped by kind, objects by constructor, the rest by name.
  const name = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'array'
    ? (snap.strings[snap.nodes[i + iName] as number] ?? '?').slice(0, 60)
    : '';
  add(byName, `${type} ${name}`, size);
}
const MiB = 1024 * 1024;
const show = (m: Map<string, [number, number]>, n: number): void => {
  for (const [k, [size, count]] of [...m].sort((a, b) => b[1][0] - a[1][0]).slice(0, n)) {
    console.log(`${(size / MiB).toFixed(1).padStart(7)} MiB ${String(count).padStart(9)}  ${k}`);
  }
};
console.log(`${file}: ${(total / MiB).toFixed(1)} MiB self size in ${snap.nodes.length / width} nodes`);
console.log('-- by type');
show(byType, 20);
console.log(`-- top ${top} groups`);
show(byName, top);
