// Test-only: upstream's fake-proxier options for the nftables tests (proxier_test.go
// NewFakeProxier: mark 0x4000, DetectLocalByCIDR 10.0.0.0/8 / fd00:10::/64, ServiceCIDRs
// 172.30.0.0/16 / fd00:10:96::/112, nodePortAddresses 192.168.0.2/32 and 2001:db8::1/128).
import type { IPFamily } from '../../../model/types.ts';
import type { NftOptions } from '../options.ts';
import { FakeTable, sortTransaction } from './fake-table.ts';
import { renderTransaction, type NftRenderInput } from '../render.ts';

export function upstreamNftOptions(family: IPFamily = 'IPv4', over: Partial<NftOptions> = {}): NftOptions {
  const v6 = family === 'IPv6';
  return {
    family,
    masqueradeMark: '0x4000',
    masqueradeAll: false,
    localDetector: v6
      ? { ifLocal: 'ip6 saddr fd00:10::/64', ifNotLocal: 'ip6 saddr != fd00:10::/64' }
      : { ifLocal: 'ip saddr 10.0.0.0/8', ifNotLocal: 'ip saddr != 10.0.0.0/8' },
    nodePortMatchAll: false,
    nodePortIPs: [v6 ? '2001:db8::1' : '192.168.0.2'],
    nodeIP: v6 ? '2001:db8::1' : '192.168.0.2',
    serviceCIDRs: [v6 ? 'fd00:10:96::/112' : '172.30.0.0/16'],
    batchElements: false,
    ...over,
  };
}

/** Render and apply to a fake table; returns the table's dump, sorted as upstream compares. */
export function renderedTable(input: NftRenderInput, table = new FakeTable()): { dump: string; table: FakeTable; transaction: string } {
  const r = renderTransaction(input);
  table.apply(r.transaction);
  return { dump: sortTransaction(table.dump()), table, transaction: r.transaction };
}
