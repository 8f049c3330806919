// Golden traces (testdata/*.trace; UPDATE_GOLDEN=1 rewrites them) over the userspace mode's
// portal rules (portal-rules.ts, the shapes portal-rules.test.ts pins) as iptables-save prints
// them on a node, as `kube-proxy-ts trace --state` prints them.
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatTrace } from '../../../trace/format-trace.ts';
import { parseDest, parseFrom } from '../../../trace/parse-dest.ts';
import { traceExitCode, type TraceReport } from '../../../trace/trace-types.ts';
import { holdsIptablesMode } from '../../iptables/trace/trace-iptables.ts';
import { renderParked, renderPortals, type Portal, type PortalOptions } from '../portal-rules.ts';
import { asIptablesSave } from '../testing/as-iptables-save.ts';
import { svc } from '../testing/fixtures.ts';
import { holdsUserspaceMode, traceUserspace } from './trace-userspace.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';
const NODE = '192.0.2.11';
const all: PortalOptions = { family: 'IPv4', listenIP: '0.0.0.0', hostIP: NODE };
const none = new Set<string>();

const web = svc({ name: 'ns/web:http', externalIPs: ['203.0.113.5'], loadBalancerVIPs: ['198.51.100.7'], nodePort: 30080 });
const ranged = svc({ name: 'ns/lb:http', clusterIP: '10.96.0.20', loadBalancerVIPs: ['198.51.100.8'], loadBalancerSourceRanges: ['203.0.113.0/24'] });
const empty = svc({ name: 'ns/empty:dns', clusterIP: '10.96.0.30', protocol: 'UDP', port: 53, nodePort: 30053 });
const local = svc({ name: 'ns/local:http', clusterIP: '10.96.0.40', nodePort: 30040, externalPolicyLocal: true });
const v6 = svc({ name: 'ns/v6:dns', family: 'IPv6', clusterIP: 'fd00:96::10', protocol: 'UDP', port: 53 });

const portals: Portal[] = [
  { service: web, proxyPort: 40001 },
  { service: ranged, proxyPort: 40002 },
  { service: empty, proxyPort: 40003, hasEndpoints: false },
  { service: local, proxyPort: 40004, externalProxyPort: 40005 },
];
const saved = asIptablesSave(renderPortals(portals, all, none).text);
const savedV6 = asIptablesSave(renderPortals([{ service: v6, proxyPort: 40006 }], { family: 'IPv6', listenIP: '::', hostIP: 'fd00::11' }, none).text);
// The daemon stopped: its portals stay, the proxy ports' new connections are dropped (renderParked).
const parked = asIptablesSave(
  renderPortals(portals, all, none).text.replace(/\*filter\n[\s\S]*$/, renderParked([{ protocol: 'TCP', proxyPort: 40001 }], none)),
);

function trace(text: string, dest: string, from?: string, nodes: string[] = [NODE]): TraceReport {
  const d = parseDest(dest);
  return traceUserspace(text, { dest: d, from: parseFrom(from, d), nodeAddresses: nodes, saved: true });
}

// [golden trace name, state, DEST, --from, exit code]
const CASES: readonly [string, string, string, string | undefined, 0 | 1][] = [
  ['clusterip-from-pod', saved, '10.96.0.10:80', undefined, 0],
  ['clusterip-from-node', saved, '10.96.0.10:80', 'node', 0],
  ['nodeport-external', saved, `${NODE}:30080`, 'external', 0],
  ['nodeport-etp-local-external', saved, `${NODE}:30040`, 'external', 0],
  ['external-ip-external', saved, '203.0.113.5:80', 'external', 0],
  ['lb-allowed-source', saved, '198.51.100.8:80', '203.0.113.9', 0],
  ['lb-source-range-drop', saved, '198.51.100.8:80', 'external', 1],
  ['no-endpoints-reject', saved, '10.96.0.30:53/udp', undefined, 1],
  ['nodeport-no-endpoints-reject', saved, `${NODE}:30053/udp`, 'external', 1],
  ['no-service', saved, '10.96.0.99:80', undefined, 1],
  ['daemon-stopped-drop', parked, '10.96.0.10:80', undefined, 1],
  ['ipv6-udp', savedV6, '[fd00:96::10]:53/udp', 'node', 0],
];

describe('golden traces', () => {
  it.each(CASES)('%s', (name, state, dest, from, code) => {
    const r = trace(state, dest, from, name === 'ipv6-udp' ? ['fd00::11'] : [NODE]);
    const text = formatTrace(r);
    const url = new URL(`./testdata/${name}.trace`, import.meta.url);
    if (update) writeFileSync(url, text);
    expect(text).toBe(readFileSync(url, 'utf8'));
    expect(traceExitCode(r)).toBe(code);
  });
});

describe('facts a userspace trace reports', () => {
  it('the portal sends pods to the REDIRECT port and the node to a DNAT on its own address', () => {
    expect(trace(saved, '10.96.0.10:80').endpoints.map((e) => e.address)).toEqual([`${NODE}:40001`]);
    expect(trace(saved, '10.96.0.10:80', 'node').endpoints.map((e) => e.address)).toEqual([`${NODE}:40001`]);
    expect(trace(saved, '10.96.0.10:80', 'node').endpoints[0]?.via[1]).toMatch(/^DNAT/);
    expect(trace(saved, '10.96.0.10:80').endpoints[0]?.via[1]).toMatch(/^REDIRECT/);
  });

  it('externalTrafficPolicy Local: outside traffic to the external listener, the node to the main one', () => {
    expect(trace(saved, `${NODE}:30040`, 'external').endpoints[0]?.address).toBe(`${NODE}:40005`);
    expect(trace(saved, `${NODE}:30040`, 'node').endpoints[0]?.address).toBe(`${NODE}:40004`);
  });

  it('names what the portal matched', () => {
    expect(trace(saved, '10.96.0.10:80').service).toEqual({ name: 'ns/web:http', matchedAs: 'cluster IP' });
    expect(trace(saved, '198.51.100.7:80', 'external').service).toEqual({ name: 'ns/web:http', matchedAs: 'loadbalancer IP' });
    expect(trace(saved, '203.0.113.5:80', 'external').service).toEqual({ name: 'ns/web:http', matchedAs: 'external IP' });
    expect(trace(saved, '10.96.0.30:53/udp').service).toEqual({ name: 'ns/empty:dns', matchedAs: 'cluster IP' });
  });

  it('is told apart from the iptables mode', () => {
    expect(holdsUserspaceMode(saved)).toBe(true);
    expect(holdsIptablesMode(saved)).toBe(false);
    expect(() => trace('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n', '10.96.0.10:80')).toThrow(/no userspace-mode rules/);
    expect(() => trace('hello\n', '10.96.0.10:80')).toThrow(/not an iptables-save dump/);
  });
});
