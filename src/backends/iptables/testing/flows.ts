// Table-driven packet-flow checks (upstream runPacketFlowTests) over a rendered payload.
import { expect, it } from 'vitest';
import type { ProxyState } from '../../../model/types.ts';
import type { RenderOptions } from '../options.ts';
import { compileRuleset, type TracePacket, tracePacket } from '../trace/packet-tracer.ts';
import { renderRules } from '../render.ts';
import { TEST_LOCAL_ADDRESSES } from './fixtures.ts';

export interface FlowCase {
  readonly name: string;
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly protocol?: 'tcp' | 'udp' | 'sctp';
  /** Default 'remote' (pod or external client); 'host' for node-originated. */
  readonly origin?: 'host' | 'remote';
  readonly output: string;
  readonly masq?: boolean;
  readonly recent?: ReadonlyMap<string, ReadonlySet<string>>;
}

export function runFlows(state: ProxyState, opts: RenderOptions, cases: readonly FlowCase[]): void {
  const text = renderRules(state, opts).payload.text;
  const rules = compileRuleset(text);
  const mark = Number(opts.masqueradeMark);
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const packet: TracePacket = { src: c.src, dst: c.dst, dport: c.dport, origin: c.origin ?? 'remote', protocol: c.protocol ?? 'tcp' };
    const env = c.recent === undefined ? { localAddresses: TEST_LOCAL_ADDRESSES } : { localAddresses: TEST_LOCAL_ADDRESSES, recent: c.recent };
    const r = tracePacket(rules, packet, env, mark);
    const why = r.outcomes.map((o) => o.matched.join('\n')).join('\n---\n');
    expect({ output: r.output, masq: r.masq }, why).toEqual({ output: c.output, masq: c.masq ?? false });
  });
}
