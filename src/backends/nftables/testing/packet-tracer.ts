// Test-only: follows a new connection through a FakeTable (the table our transactions leave),
// as upstream's nftables packet-flow tests do (pkg/proxy/nftables/helpers_test.go): the base
// chains in hook and priority order, every rule form the renderer writes, every branch of a
// numgen map explored. The result: "REJECT", "DROP", or the possible DNAT destinations, and
// whether the connection is masqueraded. A rule form it does not know fails the trace, so a
// renderer change cannot slip past it unread.
import ipaddr from 'ipaddr.js';
import { cidrContains } from '../../../model/ip.ts';
import type { FakeTable } from './fake-table.ts';
import { splitTop } from './fake-table.ts';

export interface TracePacket {
  readonly source: string;
  readonly dest: string;
  readonly port: number;
  readonly protocol?: 'tcp' | 'udp' | 'sctp';
  /** From the node itself (output hooks) rather than arriving on an interface. */
  readonly fromNode?: boolean;
}

export interface TraceResult {
  /** 'REJECT', 'DROP', 'ACCEPT' (not DNATed, delivered as is) or the sorted `ip:port` destinations. */
  readonly output: string;
  readonly masq: boolean;
}

interface Flow {
  src: string;
  dst: string;
  port: number;
  readonly proto: string;
  mark: number;
  dnat: boolean;
  masq: boolean;
}


export class PacketTracer {
  readonly #t: FakeTable;
  readonly #localIPs: ReadonlySet<string>;

  constructor(table: FakeTable, localIPs: readonly string[]) {
    this.#t = table;
    this.#localIPs = new Set(localIPs);
  }

  trace(p: TracePacket): TraceResult {
    const flow: Flow = { src: p.source, dst: p.dest, port: p.port, proto: p.protocol ?? 'tcp', mark: 0, dnat: false, masq: false };
    const pre = p.fromNode === true ? ['filter-output-pre-dnat', 'nat-output'] : ['filter-prerouting-pre-dnat', 'nat-prerouting'];
    const outs = new Set<string>();
    let masq = false;
    for (const f of this.#run(pre, [flow])) {
      if (typeof f === 'string') {
        outs.add(f);
        continue;
      }
      const filter = p.fromNode === true ? 'filter-output' : this.#localIPs.has(f.dst) ? 'filter-input' : 'filter-forward';
      for (const g of this.#run([filter, 'nat-postrouting'], [f])) {
        if (typeof g === 'string') outs.add(g);
        else {
          outs.add(g.dnat ? `${g.dst.includes(':') ? `[${g.dst}]` : g.dst}:${g.port}` : 'ACCEPT');
          masq ||= g.masq;
        }
      }
    }
    const list = [...outs].sort();
    return { output: list.join(', '), masq };
  }

  /** Run flows through base chains in order; a string is a final drop/reject. */
  #run(chains: readonly string[], flows: Flow[]): (Flow | string)[] {
    let live: (Flow | string)[] = flows;
    for (const c of chains) {
      const next: (Flow | string)[] = [];
      for (const f of live) {
        if (typeof f === 'string') next.push(f);
        else next.push(...this.#chain(c, f, 0));
      }
      live = next;
    }
    return live;
  }

  /** Results of running `f` through chain `name` (a fork explores numgen branches). */
  #chain(name: string, f: Flow, depth: number): (Flow | string)[] {
    if (depth > 20) throw new Error(`jump loop at ${name}`);
    const chain = this.#t.chains.get(name);
    if (chain === undefined) throw new Error(`no chain ${name}`);
    for (const rule of chain.rules) {
      const r = this.#rule(rule.replace(/ comment "[^"]*"$/, ''), f, depth);
      if (r === 'next') continue;
      return r;
    }
    return [f];
  }

  #set(name: string): Map<string, string> {
    const c = this.#t.containers.get(name);
    if (c === undefined) throw new Error(`no set ${name}`);
    return c.elements;
  }

  #vmap(map: string, key: string, f: Flow, depth: number): (Flow | string)[] | 'next' {
    const v = this.#set(map).get(key);
    if (v === undefined) return 'next';
    return this.#verdict(v.replace(/^.* : /, ''), f, depth);
  }

  #verdict(v: string, f: Flow, depth: number): (Flow | string)[] {
    const [word, target] = v.trim().split(' ');
    if (word === 'drop') return ['DROP'];
    if (word === 'goto' || word === 'jump') {
      const r = this.#chain(target as string, f, depth + 1);
      // goto: the calling chain ends; jump: it goes on, but every jump we write is terminal or returns unchanged.
      return r;
    }
    throw new Error(`unknown verdict ${v}`);
  }

  /** One rule: 'next' when it does not match (or only set a mark), else the results. */
  #rule(rule: string, f: Flow, depth: number): (Flow | string)[] | 'next' {
    const ip = f.dst.includes(':') ? 'ip6' : 'ip';
    let m: RegExpExecArray | null;
    let rest = rule.trim();
    // Leading matches, consumed one by one.
    for (;;) {
      if (rest.startsWith('ct state new ')) rest = rest.slice(13);
      else if ((m = new RegExp(`^${ip} (s|d)addr (!= )?@(\\S+) `).exec(rest))) {
        const a = m[1] === 's' ? f.src : f.dst;
        if (this.#set(m[3] as string).has(a) === (m[2] !== undefined)) return 'next';
        rest = rest.slice(m[0].length);
      } else if ((m = new RegExp(`^${ip} (s|d)addr (!= )?\\{ ([^}]*) \\} `).exec(rest))) {
        const a = m[1] === 's' ? f.src : f.dst;
        const hit = splitTop(m[3] as string).some((c) => (c.includes('/') ? cidrContains(c, a) : ipaddr.parse(c).toString() === ipaddr.parse(a).toString()));
        if (hit === (m[2] !== undefined)) return 'next';
        rest = rest.slice(m[0].length);
      } else if ((m = new RegExp(`^${ip} (s|d)addr (!= )?([0-9a-f.:]+/\\d+) `).exec(rest))) {
        if (cidrContains(m[3] as string, m[1] === 's' ? f.src : f.dst) === (m[2] !== undefined)) return 'next';
        rest = rest.slice(m[0].length);
      } else if ((m = /^fib (s|d)addr type local /.exec(rest))) {
        if (!this.#localIPs.has(m[1] === 's' ? f.src : f.dst)) return 'next';
        rest = rest.slice(m[0].length);
      } else if ((m = /^mark and (\S+) != 0 /.exec(rest))) {
        if ((f.mark & Number(m[1])) === 0) return 'next';
        rest = rest.slice(m[0].length);
      } else break;
    }
    if ((m = /^mark set mark or (\S+)$/.exec(rest))) {
      f.mark |= Number(m[1]);
      return 'next';
    }
    if ((m = /^mark set mark xor (\S+) masquerade fully-random$/.exec(rest))) {
      f.mark ^= Number(m[1]);
      f.masq = true;
      return [f];
    }
    if ((m = new RegExp(`^ct status dnat ${ip} saddr \\. ${ip} daddr \\. meta l4proto \\. th dport @(\\S+) masquerade fully-random$`).exec(rest))) {
      if (f.dnat && this.#set(m[1] as string).has(`${f.src} . ${f.dst} . ${f.proto} . ${f.port}`)) f.masq = true;
      return f.masq ? [f] : 'next';
    }
    if ((m = new RegExp(`^${ip} daddr \\. meta l4proto \\. th dport vmap @(\\S+)$`).exec(rest))) return this.#vmap(m[1] as string, `${f.dst} . ${f.proto} . ${f.port}`, f, depth);
    if ((m = /^meta l4proto \. th dport vmap @(\S+)$/.exec(rest))) return this.#vmap(m[1] as string, `${f.proto} . ${f.port}`, f, depth);
    if ((m = /^(jump|goto) (\S+)$/.exec(rest))) {
      const r = this.#chain(m[2] as string, f, depth + 1);
      // A jump returns when the chain fell through: go on with the rule after it.
      if (m[1] === 'jump' && r.length === 1 && r[0] === f) return 'next';
      return r;
    }
    if (rest === 'reject') return ['REJECT'];
    if (rest === 'drop') return ['DROP'];
    if ((m = new RegExp(`^meta l4proto (\\S+) dnat ${ip} addr \\. port to numgen random mod (\\d+) map \\{ (.*) \\}$`).exec(rest))) {
      if (m[1] !== f.proto) return 'next';
      return splitTop(m[3] as string).map((e) => {
        const [, target = ''] = e.split(' : ');
        const [addr, port] = target.split(' . ');
        return { ...f, dst: addr as string, port: Number(port), dnat: true };
      });
    }
    if ((m = /^numgen random mod \d+ vmap \{ (.*) \}$/.exec(rest))) {
      return splitTop(m[1] as string).flatMap((e) => this.#verdict(e.split(' : ')[1] as string, { ...f }, depth));
    }
    if ((m = new RegExp(`^${ip} saddr @(affinity-\\S+) goto \\S+$`).exec(rest))) return 'next'; // no affinity recorded yet
    if (/^update @\S+ \{ ip6? saddr \}$/.test(rest)) return 'next';
    if ((m = /^meta l4proto (\S+) dnat to \[?([0-9a-f.:]+?)\]?:(\d+)$/.exec(rest))) {
      if (m[1] !== f.proto) return 'next';
      return [{ ...f, dst: m[2] as string, port: Number(m[3]), dnat: true }];
    }
    throw new Error(`tracer does not know: ${rule}`);
  }
}
