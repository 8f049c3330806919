// Test-only: an nf_tables message payload as a readable tree (one line per attribute, nested ones
// indented; NLA_F_NESTED tells which are nested), with the set ids normalised so our batch and
// nft's compare: nft also sends the ids of named sets from its cache, which the kernel does not
// need (it finds a named set by name first); anonymous sets' ids are numbered per batch by each.
const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

interface Node {
  readonly type: number;
  readonly bytes: Uint8Array;
  readonly children?: Node[];
}

function parse(b: Uint8Array): Node[] {
  const out: Node[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  while (off + 4 <= b.byteLength) {
    const len = v.getUint16(off, true);
    const t = v.getUint16(off + 2, true);
    const body = b.subarray(off + 4, off + len);
    out.push({ type: t & 0x3fff, bytes: body, ...((t & 0x8000) !== 0 ? { children: parse(body) } : {}) });
    off += (len + 3) & ~3;
  }
  return out;
}

const text = (n: Node | undefined): string => (n === undefined ? '' : new TextDecoder().decode(n.bytes).replace(/\0+$/, ''));

function lines(nodes: readonly Node[], depth: number, ctx: string): string[] {
  const out: string[] = [];
  const setName = text(nodes.find((n) => n.type === (ctx === 'dynset' || ctx === 'lookup' ? 1 : 2)));
  const anon = setName.startsWith('__');
  for (const n of nodes) {
    // Set ids: NEWSET's NFTA_SET_ID, NEWSETELEM's NFTA_SET_ELEM_LIST_SET_ID, lookup's and dynset's.
    const isId = (ctx === 'set' && n.type === 10) || (ctx === 'elems' && n.type === 4) || (ctx === 'lookup' && n.type === 4) || (ctx === 'dynset' && n.type === 2);
    if (isId && ctx !== 'set' && !anon) continue;
    const pad = '  '.repeat(depth);
    if (isId) out.push(`${pad}${n.type} <set id>`);
    else if (n.children === undefined) out.push(`${pad}${n.type} ${hex(n.bytes)}`);
    else {
      out.push(`${pad}${n.type} {`);
      const name = ctx === 'expr' ? text(nodes.find((x) => x.type === 1)) : '';
      out.push(...lines(n.children, depth + 1, name === 'lookup' || name === 'dynset' ? name : ctx === 'rule' ? 'list' : ctx === 'list' ? 'expr' : ''));
    }
  }
  return out;
}

/** `type: tree` of one message (nfgenmsg's family first). */
export function attrTree(type: number, payload: Uint8Array): string {
  const msg = type & 0xff;
  const ctx = msg === 9 ? 'set' : msg === 12 || msg === 14 ? 'elems' : msg === 6 ? 'rule' : '';
  return [`msg ${msg} family ${payload[0] ?? 0}`, ...lines(parse(payload.subarray(4)), 1, ctx)].join('\n');
}
