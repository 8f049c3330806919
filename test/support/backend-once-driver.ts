// Builds one mode's proxiers through its registry entry, as main.ts does, with the iptables
// back-end already detected (KPT_BACKEND), and records every command they run at creation into
// $KPT_UML_RESULT / $KPT_RESULT: test/wiring-backend-once.test.ts looks there for back-end
// detection's own signature. Run inside a namespace the test made (ip netns exec), or inside the
// IPVS test kernel for the ipvs mode, so that sysctls and netlink are that node's, never the host's.
import { writeFileSync } from 'node:fs';
import { modeEntry } from '../../src/backends/modes.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import { detectNodeIPs } from '../../src/config/node-ips.ts';
import type { ProxyConfig } from '../../src/config/types.ts';
import { describeError } from '../../src/errors.ts';
import type { ProxyMode } from '../../src/model/types.ts';
import { exec, type Exec } from '../../src/system/exec.ts';
import { recordingLogger } from '../../src/sync/testing/recorders.ts';

const out = process.env.KPT_UML_RESULT ?? process.env.KPT_RESULT ?? '';
const mode = (process.env.KPT_MODE ?? '') as ProxyMode;
const backend = process.env.KPT_BACKEND === 'nft' ? 'nft' : 'legacy';
const calls: string[] = [];
const recording: Exec = (file, args, options) => {
  calls.push([file, ...args].join(' '));
  return exec(file, args, options);
};
// `auto`: a detection, if one ran here, would save both back-ends and probe nft.
const base = defaultConfig();
const config: ProxyConfig = { ...base, mode, iptables: { ...base.iptables, backend: 'auto' } };
let result: Record<string, unknown>;
try {
  const proxiers = await modeEntry(mode).createProxiers({
    config,
    families: ['IPv4'],
    exec: recording,
    logger: recordingLogger(),
    backend: { backend, reason: 'detected by the test' },
    nodeIPs: detectNodeIPs(['192.0.2.1'], ''),
  });
  for (const p of proxiers) await p.close?.();
  result = { calls, proxiers: proxiers.length };
} catch (err) {
  result = { calls, fatal: describeError(err) };
}
writeFileSync(out, JSON.stringify(result));
