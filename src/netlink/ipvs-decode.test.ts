// Decoding real replies of the IPVS test kernel (src/netlink/testdata, captured by
// test/support/uml-capture-fixtures.ts): 16-byte addresses, HASHED in flags, stats nests.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, parseDestination, parseInfo, parseService } from './ipvs-decode.ts';
import { NLM_F_MULTI, splitMessages } from './message.ts';
import { fromHex } from './testdata/hex.ts';

/** A reply captured from the IPVS test kernel by test/support/uml-capture-fixtures.ts. */
const fixture = (name: string): Uint8Array =>
  fromHex(readFileSync(new URL(`./testdata/${name}.hex`, import.meta.url), 'utf8'));

const parts = (name: string) => splitMessages(fixture(name));

describe('IPVS replies from the kernel', () => {
  it('decodes a service dump', () => {
    const msgs = parts('ipvs-dump-services');
    expect(msgs.every((m) => (m.flags & NLM_F_MULTI) !== 0)).toBe(true);
    const services = msgs.map((m) => parseService(m.payload));
    const brief = services.map(({ stats: _s, ...rest }) => rest).sort((a, b) => a.address.localeCompare(b.address));
    expect(brief).toEqual([
      { family: 'IPv4', protocol: 'TCP', address: '10.96.0.1', port: 443, scheduler: 'rr', flags: 0, timeout: 0, prefixLength: 32 },
      { family: 'IPv4', protocol: 'TCP', address: '10.96.0.30', port: 8080, scheduler: 'sh', flags: 1, timeout: 10800, prefixLength: 24 },
      { family: 'IPv6', protocol: 'UDP', address: 'fd00:10:96::a', port: 53, scheduler: 'wrr', flags: 0, timeout: 0, prefixLength: 128 },
    ]);
    expect(services[0]?.stats).toEqual({ conns: 0, inPackets: 0, outPackets: 0, inBytes: 0, outBytes: 0, cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 });
  });

  it('decodes IPv4 and IPv6 destination dumps', () => {
    const v4 = parts('ipvs-dump-dests-v4').map((m) => parseDestination(m.payload, 'IPv4'));
    expect(v4.map(({ stats: _s, ...d }) => d).sort((a, b) => a.address.localeCompare(b.address))).toEqual([
      { family: 'IPv4', address: '10.244.1.5', port: 8443, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0, persistentConns: 0 },
      { family: 'IPv4', address: '10.244.2.6', port: 8443, forward: 'masq', weight: 5, upperThreshold: 100, lowerThreshold: 10, activeConns: 0, inactiveConns: 0, persistentConns: 0 },
    ]);
    const v6 = parts('ipvs-dump-dests-v6').map((m) => parseDestination(m.payload, 'IPv6'));
    expect(v6.map((d) => [d.family, d.address, d.port, d.weight])).toEqual([['IPv6', 'fd00:10:244::5', 5353, 2]]);
  });

  it('decodes GET_CONFIG and GET_INFO replies', () => {
    const [config] = parts('ipvs-get-config');
    expect(parseConfig(config?.payload ?? new Uint8Array())).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    const [info] = parts('ipvs-get-info');
    expect(parseInfo(info?.payload ?? new Uint8Array())).toEqual({ version: 0x010201, connTableSize: 4096 });
  });

  it('refuses a reply without the service nest', () => {
    expect(() => parseService(Uint8Array.of(1, 1, 0, 0))).toThrow(/without IPVS_CMD_ATTR_SERVICE/);
  });
});
