// The compiler against our renderer's own lines: every per-service rule, chain and element line of
// upstream's overall case compiles (both families), and every line it does not know makes the
// whole transaction fall back, naming that line. Byte equality with nft is checked on the real
// kernel (test/nftables-netlink-bytes.test.ts); this is the pure part.
import { describe, expect, it } from 'vitest';
import { overallState } from '../../iptables/testing/upstream-cases.ts';
import { upstreamNftOptions } from '../testing/fixtures.ts';
import { renderTransaction } from '../render.ts';
import { encodeCompiled } from '../io/netlink-writer.ts';
import { compileTransaction, type CompiledTransaction } from './transaction.ts';

const compiled = (text: string, fam: 'ip' | 'ip6' = 'ip'): CompiledTransaction => {
  const c = compileTransaction(text, fam);
  if ('unsupported' in c) throw new Error(`line ${c.line} not compiled: ${c.unsupported}`);
  return c;
};

describe('compileTransaction', () => {
  const full = renderTransaction({ state: overallState(), opts: upstreamNftOptions(), nowMs: 0 }).transaction.split('\n');
  const perService = full.filter((l) => /^add (rule|chain) ip kube-proxy (service|external|firewall|endpoint)-[A-Z0-9]{8}-|^add (element|set) ip kube-proxy (?!nodeport-ips)/.test(l) && !/^add set ip kube-proxy (?!affinity-)/.test(l));

  it.each(perService)('compiles %s', (line) => {
    const c = compiled(`${line}\n`);
    expect(c.commands.length).toBeGreaterThan(0);
    expect(encodeCompiled(c).length).toBe(c.commands.length);
  });

  it('covers every rule shape of the golden case', () => {
    expect(perService.filter((l) => l.startsWith('add rule')).length).toBe(18);
  });

  it.each([
    ['add table ip kube-proxy { comment "rules for kube-proxy" ; }'],
    ['add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }'],
    ['flush map ip kube-proxy service-ips'],
    ['add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }'],
    ['add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips'],
    ['add rule ip kube-proxy firewall-X ip saddr != { 203.0.113.0/25 , 198.51.100.0/24 } drop'],
    ['add rule ip kube-proxy firewall-X ip saddr != { 203.0.113.1/25 } drop'],
    ['add rule ip kube-proxy service-X meta l4proto tcp dnat ip6 addr . port to numgen random mod 1 map { 0 : fd00::1 . 80 }'],
    ['add rule ip kube-proxy service-X meta l4proto tcp dnat ip addr . port to numgen random mod 2 map { 0 : 10.0.0.1 . 80 }'],
    ['add element ip kube-proxy no-such-set { 10.0.0.1 }'],
    ['add element ip kube-proxy service-ips { 10.0.0.1 . tcp . 80 }'],
    ['add element ip kube-proxy cluster-ips { fd00::1 }'],
    ['add rule ip6 kube-proxy service-X goto Y'],
  ])('falls back on %s', (line) => {
    const c = compileTransaction(`add chain ip kube-proxy ok\n${line}\n`, 'ip');
    expect(c).toEqual({ unsupported: line, line: 2 });
  });

  it('maps every message to its line, the inline map to its rule', () => {
    const c = compiled([
      'add chain ip kube-proxy service-A',
      'flush chain ip kube-proxy service-A',
      'add rule ip kube-proxy service-A meta l4proto udp dnat ip addr . port to numgen random mod 2 map { 0 : 10.1.0.1 . 53 , 1 : 10.1.0.2 . 53 }',
      'delete element ip kube-proxy cluster-ips { 172.30.0.9 }',
    ].join('\n'));
    expect(c.commands.map((x) => x.op)).toEqual(['add-chain', 'flush-chain', 'add-set', 'add-elements', 'add-rule', 'delete-elements']);
    expect(c.lines).toEqual([1, 2, 3, 3, 3, 4]);
  });

  it('splits long element lines into messages of 128 (one attribute holds at most 64 KiB)', () => {
    const keys = Array.from({ length: 300 }, (_, i) => `172.30.${i >> 8}.${i & 255} . tcp . 80 : goto service-${'x'.repeat(40)}-${i}`);
    const c = compiled(`add element ip kube-proxy service-ips { ${keys.join(' , ')} }\n`);
    expect(c.commands.map((x) => (x.op === 'add-elements' ? x.elements.length : 0))).toEqual([128, 128, 44]);
    expect(c.lines).toEqual([1, 1, 1]);
    expect(() => encodeCompiled(c)).not.toThrow();
  });

  it('compiles IPv6 lines, interface matches and affinity sets', () => {
    const c = compiled([
      'add set ip6 kube-proxy affinity-X { type ipv6_addr ; flags dynamic,timeout ; timeout 10800s ; }',
      'add rule ip6 kube-proxy external-X ip6 saddr fd00:10::/64 goto service-X comment "short-circuit pod traffic"',
      'add rule ip6 kube-proxy external-X iifname "veth*" goto service-X comment "short-circuit pod traffic"',
      'add rule ip6 kube-proxy endpoint-X meta l4proto sctp dnat to [fd00:10::1]:80',
      'add element ip6 kube-proxy hairpin-connections { fd00::1 . fd00::1 . udp . 80 }',
    ].join('\n'), 'ip6');
    expect(c.commands).toHaveLength(5);
    expect(compileTransaction('add set ip6 kube-proxy affinity-X { type ipv4_addr ; flags dynamic,timeout ; timeout 1s ; }\n', 'ip6')).toMatchObject({ line: 1 });
  });
});
