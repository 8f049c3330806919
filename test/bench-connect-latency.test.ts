// The pure helpers of bench/modes-side-by-side.bench.ts: which Services the first-packet probes
// pick, how the iptables payload's KUBE-SERVICES order is read, and the probe client's output.
import { describe, expect, it } from 'vitest';
import { fmtLatency, kubeServicesEnds, kubeServicesOrder, parseProbeOutput, summarise } from '../bench/connect-latency.ts';

describe('kubeServicesEnds', () => {
  it.each([
    // ':' sorts after the digits, so "svc-9:http" > "svc-99:http" > "svc-999:http".
    [1, 0, 0],
    [10, 0, 9],
    [1000, 0, 9],
    [10_000, 0, 9],
    [30_000, 0, 9],
  ])('%i Services: first svc-%i, last svc-%i', (n, first, last) => {
    expect(kubeServicesEnds(n)).toEqual({ first, last });
  });

  it('refuses an empty cluster', () => {
    expect(() => kubeServicesEnds(0)).toThrow(/at least one Service/);
  });
});

describe('kubeServicesOrder', () => {
  const payload = [
    '*filter',
    '-A KUBE-SERVICES -m comment --comment "bench/svc-3:http has no endpoints" -m tcp -p tcp -d 10.96.0.13 --dport 80 -j REJECT',
    'COMMIT',
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    '-A KUBE-SERVICES -m comment --comment "bench/svc-0:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 -j KUBE-SVC-AAAA',
    '-A KUBE-SVC-AAAA -m comment --comment "bench/svc-0:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
    '-A KUBE-SERVICES -m comment --comment "bench/svc-9:http cluster IP" -m tcp -p tcp -d 10.96.0.19/32 --dport 80 -j KUBE-SVC-BBBB',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    'COMMIT',
    '',
  ].join('\n');

  it('lists the nat table ClusterIP rules in order, not the filter table ones nor other chains', () => {
    expect(kubeServicesOrder(payload)).toEqual(['10.96.0.10', '10.96.0.19']);
  });

  it('is empty without a nat table', () => {
    expect(kubeServicesOrder('*filter\nCOMMIT\n')).toEqual([]);
  });
});

describe('parseProbeOutput', () => {
  it('takes the last line', () => {
    const out = 'warming up\n{"us":{"direct":[50.5,61],"last":[70]},"errors":{"direct":{},"last":{"ETIMEDOUT":1}}}\n';
    expect(parseProbeOutput(out)).toEqual({ us: { direct: [50.5, 61], last: [70] }, errors: { direct: {}, last: { ETIMEDOUT: 1 } } });
  });

  it.each([
    ['not JSON', 'Error: boom', /not a JSON line/],
    ['no errors object', '{"us":{}}', /no "us" and "errors"/],
    ['a non-number', '{"us":{"direct":[1,"x"]},"errors":{}}', /"direct" is not a list of numbers/],
  ])('rejects %s', (_what, out, message) => {
    expect(() => parseProbeOutput(out)).toThrow(message);
  });
});

describe('summarise and fmtLatency', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);

  it('gives nearest-rank p50, p90 and p99', () => {
    expect(summarise(xs)).toEqual({ n: 100, p50: 50, p90: 90, p99: 99 });
  });

  it('shows the cost added over a baseline', () => {
    expect(fmtLatency(summarise(xs), summarise(xs.map((x) => x - 10)))).toBe('50 / 90 / 99 (+10 / +10 / +10)');
    expect(fmtLatency(summarise([40]), summarise([50]))).toBe('40 / 40 / 40 (-10 / -10 / -10)');
    expect(fmtLatency(summarise([]))).toBe('—');
  });
});
