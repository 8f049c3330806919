// Runs inside the IPVS test kernel (test/trace-ipvs-uml.test.ts boots it via runInUml): an ipvs
// proxier programs the UML root namespace (the node), then for each question `kube-proxy-ts
// trace` runs there as an operator would (live IPVS dump over netlink, ipset save, iptables-save)
// and the same packets are sent for real. Records both per case into $KPT_UML_RESULT; assertions
// stay in the test.
import { writeFileSync } from 'node:fs';
import { createIpvsProxiers } from '../../src/backends/ipvs/io/setup.ts';
import { ep, makeState, svcPort } from '../../src/backends/common/testing/fixtures.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import { describeError } from '../../src/errors.ts';
import { exec } from '../../src/system/exec.ts';
import { recordingLogger } from '../../src/sync/testing/recorders.ts';
import { runTraceCommand } from '../../src/trace/io/trace-command.ts';
import type { Reply } from './net-client.ts';
import { cleanupIpvsFamily } from './ipvs-family-cleanup.ts';
import { tcpRequest } from './topology.ts';
import { buildUmlNode, nodeRequest } from './uml-node.ts';

const out: Record<string, unknown> = {};
const logger = recordingLogger();
const answers = (rs: readonly Reply[]): string[] => rs.map((r) => (r.ok ? `${r.pod} from ${r.source}` : `error:${r.error}`));

async function trace(args: string[]): Promise<{ code: number; json: unknown; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTraceCommand([...args, '--json'], { exec, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, json: code === 2 ? null : (JSON.parse(stdout) as unknown), stderr };
}

try {
  const node = await buildUmlNode({ podNames: ['pod-1', 'pod-2'], nodeIP: '192.0.2.11', clientIP: '192.0.2.100' });
  const base = defaultConfig();
  const config = {
    ...base, iptables: { ...base.iptables, backend: 'legacy' as const }, mode: 'ipvs' as const,
    clusterCIDRs: ['10.244.0.0/16'], detectLocalMode: 'ClusterCIDR' as const,
  };
  const [proxier] = await createIpvsProxiers({ config, families: ['IPv4'], exec, logger, kernelRelease: '6.1.0' });
  if (proxier === undefined) throw new Error('no IPv4 proxier');
  const eps = node.pods.map((p) => ep(p.ip, 8080, { isLocal: true }));
  const web = svcPort('default', 'web', 'http', { clusterIP: '10.96.1.10', port: 80, externalIPs: ['203.0.113.10'] });
  const sticky = svcPort('default', 'sticky', 'http', { clusterIP: '10.96.1.30', port: 80, sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 } });
  // Only pod-2 behind it: pod-1 asks without reaching itself (a hairpin needs the bridge's hairpin mode).
  const other = svcPort('default', 'other', 'http', { clusterIP: '10.96.1.20', port: 80 });
  const empty = svcPort('default', 'empty', 'http', { clusterIP: '10.96.1.70', port: 80 });
  const s = makeState('IPv4', [[web, eps], [sticky, eps], [other, eps.slice(1)], [empty, []]]);
  await proxier.sync({ ...s, node: { ...s.node, name: 'test-node' } });
  const cases: Record<string, unknown> = {};
  const ask = async (name: string, dest: string, from: string, send: () => Promise<Reply[]>): Promise<void> => {
    const t = await trace([dest, '--from', from]);
    cases[name] = { trace: t, replies: answers(await send()) };
  };
  const [host, port] = ['10.96.1.10', 80];
  await ask('clusterIP from the node', `${host}:${port}`, 'node', () => nodeRequest('tcp', host, port, 10));
  await ask('clusterIP from a pod', '10.96.1.20:80', node.pods[0]?.ip ?? '', () => tcpRequest(node.pods[0]?.ns ?? '', '10.96.1.20', 80, { count: 6 }));
  await ask('externalIP from outside', '203.0.113.10:80', '192.0.2.100', () => tcpRequest(node.client, '203.0.113.10', 80, { count: 10 }));
  await ask('persistence', '10.96.1.30:80', 'node', () => nodeRequest('tcp', '10.96.1.30', 80, 10));
  await ask('no endpoints', '10.96.1.70:80', 'node', () => nodeRequest('tcp', '10.96.1.70', 80, 1, 2_000));
  out.cases = cases;
  out.pods = Object.fromEntries(node.pods.map((p) => [p.name, p.ip]));
  const dump = await trace(['--dump-state', 'IPv4']);
  out.dumpCode = dump.code;
  out.dumpFormat = (dump.json as { format?: string } | null)?.format;
  await cleanupIpvsFamily(exec, 'IPv4', 'legacy', logger);
  await proxier.close();
} catch (err) {
  out.fatal = describeError(err);
}
out.logErrors = logger.entries.filter((e) => e.level === 'error' || e.level === 'warn').map((e) => `${e.msg} ${String(e.fields.reason ?? e.fields.err ?? '')}`);
writeFileSync(process.env.KPT_UML_RESULT ?? '/dev/stdout', JSON.stringify(out));
process.exit(0);
