// Our batch printed as `nft --debug=netlink` prints nft's (libnftnl's *_snprintf): one block per
// rule with a bracketed line per expression, anonymous sets and element lists with their data as
// host-order 32-bit words, so a test can put ours and nft's side by side for the same text. Pure.
import { HOST_LITTLE_ENDIAN } from '../attrs.ts';
import type { Expr, Verdict } from './expr.ts';
import type { NftCommand, SetElem } from './messages.ts';

function words(b: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < b.byteLength; i += 4) {
    const w = new Uint8Array(4);
    w.set(b.subarray(i, Math.min(i + 4, b.byteLength)));
    out.push(new DataView(w.buffer).getUint32(0, HOST_LITTLE_ENDIAN).toString(16).padStart(8, '0'));
  }
  return out;
}
const data = (b: Uint8Array): string => words(b).map((w) => `0x${w}`).join(' ');

function verdict(v: Verdict): string {
  return v.chain !== undefined ? `${v.code} -> ${v.chain}` : v.code;
}

function userdata(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return `userdata = { ${s} }`;
}

function expr(e: Expr): string {
  switch (e.kind) {
    case 'payload':
      return `payload load ${e.len}b @ ${e.base} header + ${e.offset} => reg ${e.dreg}`;
    case 'meta':
      return `meta load ${e.key} => reg ${e.dreg}`;
    case 'meta-set':
      return `meta set ${e.key} with reg ${e.sreg}`;
    case 'cmp':
      return `cmp ${e.op} reg ${e.sreg} ${data(e.data)}`;
    case 'bitwise':
      return `bitwise reg ${e.dreg} = ( reg ${e.sreg} & ${data(e.mask)} ) ^ ${data(e.xor)}`;
    case 'immediate':
      return `immediate reg ${e.dreg} ${data(e.data)}`;
    case 'verdict':
      return `immediate reg 0 ${verdict(e.verdict)}`;
    case 'numgen':
      return `numgen reg ${e.dreg} = random mod ${e.modulus}`;
    case 'lookup':
      return `lookup reg ${e.sreg} set ${e.set}${e.dreg !== undefined ? ` dreg ${e.dreg}` : ''}`;
    case 'nat':
      return `nat dnat ${e.family === 10 ? 'ip6' : 'ip'} addr_min reg ${e.addrReg} proto_min reg ${e.protoReg}${e.flags !== undefined ? ` flags 0x${e.flags.toString(16)}` : ''}`;
    case 'fib-saddr-type':
      return `fib saddr type => reg ${e.dreg}`;
    case 'dynset-update':
      return `dynset update reg_key ${e.sreg} set ${e.set}`;
  }
}

function element(e: SetElem, commentUdata: (c: string) => Uint8Array): string {
  const value = e.data === undefined ? '' : e.data instanceof Uint8Array ? words(e.data).map((w) => `${w} `).join('') : `${verdict(e.data)} `;
  const ud = e.comment !== undefined ? `  ${userdata(commentUdata(e.comment))}` : '';
  return `\telement ${words(e.key).map((w) => `${w} `).join('')} : ${value}0 [end]${ud}`;
}

/** `family`: `ip` or `ip6`; `commentUdata`: the encoder's (messages.ts) so both agree on bytes. */
export function printBatch(family: string, table: string, commands: readonly NftCommand[], commentUdata: (c: string) => Uint8Array): string {
  const out: string[] = [];
  for (const c of commands) {
    switch (c.op) {
      case 'add-chain':
        // nft 1.0.6 prints a new chain's header without its names.
        out.push(`${family} (null) (null) use 0\n`);
        break;
      case 'add-rule': {
        const body = c.exprs.map((e) => `  [ ${expr(e)} ]\n`).join('');
        out.push(`${family} ${table} ${c.chain}\n${body}${c.comment !== undefined ? `  ${userdata(commentUdata(c.comment))}\n` : '\n'}`);
        break;
      }
      case 'add-set': {
        const s = c.set;
        const extra = s.timeoutMs !== undefined ? ` timeout ${s.timeoutMs}ms` : s.size !== undefined ? ` size ${s.size}` : '';
        out.push(`${s.name} ${table} ${s.flags.toString(16)}${extra}\n`);
        break;
      }
      case 'add-elements':
      case 'delete-elements':
        out.push(`${c.set} ${table} 0\n${c.elements.map((e) => element(e, commentUdata)).join('')}\n`);
        break;
      default:
        break;
    }
  }
  return out.join('');
}
