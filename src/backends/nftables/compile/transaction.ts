// A transaction of our renderer (render.ts: the lines partial syncs write) compiled to one
// nf_tables batch: commands by name, no cache, no listing. Every command keeps the 1-based line it
// came from, so a kernel error on message k names that line. The first line we do not know makes
// the whole transaction `null`: the caller applies it through libnftables, so nothing regresses.
import { NFT_SET_EVAL, NFT_SET_TIMEOUT } from '../../../netlink/nftables/constants.ts';
import type { NftCommand, SetElem } from '../../../netlink/nftables/messages.ts';
import { TABLE } from '../names.ts';
import { compileRule, type SetIds } from './rule.ts';
import { addrLen, addrType, concatKey, type Field, type NfFamily } from './values.ts';

export interface CompiledTransaction {
  readonly family: NfFamily;
  readonly commands: readonly NftCommand[];
  /** lines[k]: the transaction line (1-based) of commands[k]. */
  readonly lines: readonly number[];
}

export interface Unsupported {
  readonly unsupported: string;
  readonly line: number;
}

/** Key fields of our named sets and maps (render-base.ts), and whether values are verdicts. */
const CONTAINERS: Readonly<Record<string, { readonly fields: readonly Field[]; readonly map: boolean }>> = {
  'cluster-ips': { fields: ['addr'], map: false },
  'nodeport-ips': { fields: ['addr'], map: false },
  'hairpin-connections': { fields: ['addr', 'addr', 'proto', 'port'], map: false },
  'service-ips': { fields: ['addr', 'proto', 'port'], map: true },
  'no-endpoint-services': { fields: ['addr', 'proto', 'port'], map: true },
  'firewall-ips': { fields: ['addr', 'proto', 'port'], map: true },
  'service-nodeports': { fields: ['proto', 'port'], map: true },
  'no-endpoint-nodeports': { fields: ['proto', 'port'], map: true },
};

const AFFINITY_UDATA = Uint8Array.from([0, 4, 2, 0, 0, 0]);
const NAME = String.raw`[^\s"{}@]+`;
const ELEMENTS_PER_MESSAGE = 128;

function element(text: string, fam: NfFamily, set: string, add: boolean): SetElem | null {
  const c = CONTAINERS[set];
  if (c === undefined) return null;
  const m = /^(.+?)(?: comment "([^"\\]*)")?(?: : (.+))?$/.exec(text);
  if (m === null) return null;
  const key = concatKey(m[1] as string, c.fields, fam);
  if (key === null) return null;
  const comment = m[2];
  const value = m[3];
  if (!add) return value === undefined && comment === undefined ? { key } : null;
  if (c.map !== (value !== undefined)) return null;
  const out: { key: Uint8Array; data?: SetElem['data']; comment?: string } = { key };
  if (comment !== undefined) out.comment = comment;
  if (value !== undefined) {
    const v = new RegExp(`^(?:goto (${NAME})|(drop))$`).exec(value);
    if (v === null) return null;
    out.data = v[2] !== undefined ? { code: 'drop' } : { code: 'goto', chain: v[1] as string };
  }
  return out;
}

function affinitySet(name: string, spec: string, fam: NfFamily, ids: SetIds): NftCommand | null {
  const m = /^\{ type (ipv4_addr|ipv6_addr) ; flags dynamic,timeout ; timeout (\d+)s ; \}$/.exec(spec);
  if (m === null || (m[1] === 'ipv4_addr') !== (fam === 'ip')) return null;
  return {
    op: 'add-set',
    set: { name, flags: NFT_SET_TIMEOUT | NFT_SET_EVAL, keyType: addrType(fam), keyLen: addrLen(fam), id: ids.next(), timeoutMs: BigInt(m[2] as string) * 1000n, userdata: AFFINITY_UDATA },
  };
}

export interface CompileOptions {
  /** Commands above this are left to libnftables (one batch = one datagram, acks fit the buffer). */
  readonly max?: number;
  /**
   * Names of the inline maps' anonymous sets; default nft's `__map%d` (see io/netlink-writer.ts).
   * Given, their elements also go by set id alone (nft sends the name too).
   */
  readonly anonName?: (id: number) => string;
}

export function compileTransaction(text: string, fam: NfFamily, options: CompileOptions = {}): CompiledTransaction | Unsupported {
  const max = options.max ?? 4096;
  const anonName = options.anonName ?? ((): string => '__map%d');
  const commands: NftCommand[] = [];
  const lines: number[] = [];
  let id = 0;
  const ids: SetIds = { next: () => ++id, anonName, elementsById: options.anonName !== undefined };
  const src = text.split('\n');
  if (src[src.length - 1] === '') src.pop();
  const head = `${fam} ${TABLE} `;
  for (let i = 0; i < src.length; i++) {
    const line = src[i] as string;
    const no = i + 1;
    const push = (...cs: NftCommand[]): void => {
      for (const c of cs) {
        commands.push(c);
        lines.push(no);
      }
    };
    const m = /^(add|flush|delete) (chain|rule|element|set) (.*)$/.exec(line);
    if (m === null || !(m[3] as string).startsWith(head)) return { unsupported: line, line: no };
    const rest = (m[3] as string).slice(head.length);
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const body = sp < 0 ? '' : rest.slice(sp + 1);
    if (!new RegExp(`^${NAME}$`).test(name)) return { unsupported: line, line: no };
    const verb = `${m[1] as string} ${m[2] as string}`;
    if (verb === 'add chain' && body === '') push({ op: 'add-chain', chain: name });
    else if (verb === 'flush chain' && body === '') push({ op: 'flush-chain', chain: name });
    else if (verb === 'delete chain' && body === '') push({ op: 'delete-chain', chain: name });
    else if (verb === 'delete set' && body === '' && name.startsWith('affinity-')) push({ op: 'delete-set', set: name });
    else if (verb === 'add set' && name.startsWith('affinity-')) {
      const c = affinitySet(name, body, fam, ids);
      if (c === null) return { unsupported: line, line: no };
      push(c);
    } else if (verb === 'add rule' && body !== '') {
      const r = compileRule(fam, body, ids);
      if (r === null) return { unsupported: line, line: no };
      push(...r.before, { op: 'add-rule', chain: name, exprs: r.exprs, ...(r.comment !== undefined ? { comment: r.comment } : {}) });
    } else if ((verb === 'add element' || verb === 'delete element') && body.startsWith('{ ') && body.endsWith(' }')) {
      const add = m[1] === 'add';
      const elements: SetElem[] = [];
      for (const t of body.slice(2, -2).split(' , ')) {
        const e = element(t, fam, name, add);
        if (e === null) return { unsupported: line, line: no };
        elements.push(e);
      }
      // A message's element list is one attribute (u16 length): 128 elements keep it well inside.
      for (let j = 0; j < elements.length; j += ELEMENTS_PER_MESSAGE) {
        push({ op: add ? 'add-elements' : 'delete-elements', set: name, elements: elements.slice(j, j + ELEMENTS_PER_MESSAGE) });
      }
    } else return { unsupported: line, line: no };
    if (commands.length > max) return { unsupported: `more than ${max} commands`, line: no };
  }
  return { family: fam, commands, lines };
}
