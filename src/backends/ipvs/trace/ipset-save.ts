// `ipset save` (or the restore text ipsets.ts writes) read into set membership for the packet
// tracer's `-m set --match-set NAME DIRS`: each member's fields (hash:ip,port -> `ip,proto:port`,
// hash:ip,port,ip / hash:ip,port,net, bitmap:port -> `port`) matched against the packet's fields
// the DIRS name, as the kernel's ip_set types do for the sets upstream's ipvs proxier uses. Pure.
import ipaddr from 'ipaddr.js';
import type { MatchEnv, TracePacketState } from '../../iptables/trace/rule-compile.ts';

export interface SavedSet {
  readonly type: string;
  readonly members: readonly string[];
}

/** Sets by name; the temporary sets of a restore are followed through `swap`. */
export function parseIpsetSave(text: string): Map<string, SavedSet> {
  const sets = new Map<string, { type: string; members: string[] }>();
  for (const line of text.split('\n')) {
    const [cmd, name, arg] = line.trim().split(/\s+/);
    if (name === undefined) continue;
    if (cmd === 'create') sets.set(name, { type: arg ?? '', members: [] });
    else if (cmd === 'flush') sets.get(name)?.members.splice(0);
    else if (cmd === 'add' && arg !== undefined) sets.get(name)?.members.push(arg);
    else if (cmd === 'del' && arg !== undefined) {
      const m = sets.get(name)?.members;
      if (m?.includes(arg)) m.splice(m.indexOf(arg), 1);
    } else if (cmd === 'swap' && arg !== undefined) {
      const a = sets.get(name);
      const b = sets.get(arg);
      if (a !== undefined && b !== undefined) {
        sets.set(name, b);
        sets.set(arg, a);
      }
    } else if (cmd === 'destroy') sets.delete(name);
  }
  return sets;
}

function ipIn(member: string, ip: string, net: boolean): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const a = ipaddr.parse(ip);
  if (net || member.includes('/')) {
    if (!ipaddr.isValidCIDR(member)) return false;
    const [n, bits] = ipaddr.parseCIDR(member);
    return n.kind() === a.kind() && a.match(n, bits);
  }
  return ipaddr.isValid(member) && ipaddr.parse(member).toString() === a.toString();
}

function memberMatches(type: string, member: string, dirs: readonly ('src' | 'dst')[], p: TracePacketState): boolean {
  const kinds = (type.split(':')[1] ?? '').split(',');
  const values = member.split(',');
  if (values.length !== kinds.length) return false;
  return kinds.every((kind, i) => {
    const dir = dirs[i] ?? dirs[dirs.length - 1] ?? 'dst';
    const v = values[i] as string;
    if (kind === 'port') {
      // Only the destination port is traced; a source-port field never matches.
      if (dir !== 'dst') return false;
      const m = /^(?:(\w+):)?(\d+)(?:-(\d+))?$/.exec(v);
      if (m === null) return false;
      if (m[1] !== undefined && m[1] !== p.protocol) return false;
      return p.dport >= Number(m[2]) && p.dport <= Number(m[3] ?? m[2]);
    }
    return ipIn(v, dir === 'src' ? p.src : p.dst, kind === 'net');
  });
}

/** The tracer's set lookup over parsed sets; a set not in them is empty. */
export function setMembership(sets: ReadonlyMap<string, SavedSet>): NonNullable<MatchEnv['setHas']> {
  return (name, dirs, p) => {
    const s = sets.get(name);
    return s !== undefined && s.members.some((m) => memberMatches(s.type, m, dirs, p));
  };
}
