// Issue 13, warnings, through the real daemon's start-up in a namespace: in ipvs mode the
// deprecation line at error level (the host kernel has no IPVS, so the daemon then stops with
// KP_ERR_KERNEL_MISSING: the line comes first, as upstream logs it when it picks the mode); with
// the mode left to default, the v1.37 warning that the default will change to nftables; with the
// KubeProxyIPVS gate off, ipvs is refused before anything starts. The Event itself is tested
// against the test API server in test/node-events.test.ts and test/deploy-rbac.test.ts.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_MODE_WARNING, IPVS_DEPRECATION_MESSAGE } from '../src/config/mode-warnings.ts';
import { HEALTHZ, METRICS, runDaemonOnce, startDaemon, usePrivateXtablesLock, waitReady } from './support/daemon.ts';
import { createNamespace, deleteNamespace } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/manifests', import.meta.url));
const BASE = ['--manifests', FIXTURE, '--hostname-override', 'node-a', '--logging-format', 'json', '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS];

interface Line { level: number; msg: string; warning?: string }
const lines = (output: string): Line[] => output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);

describeWith('mode warnings at start-up', ['root', 'iptables'], () => {
  let ns = '';
  let restoreLock: (() => void) | undefined;
  beforeAll(async () => {
    restoreLock = usePrivateXtablesLock();
    ns = await createNamespace('mode-warn');
  });
  afterAll(async () => {
    if (ns !== '') await deleteNamespace(ns);
    restoreLock?.();
  });

  it('ipvs mode: the deprecation line at error level, before anything else can stop the start', async () => {
    const r = await runDaemonOnce(ns, [...BASE, '--proxy-mode', 'ipvs']);
    const logged = lines(r.output);
    const deprecation = logged.find((l) => l.msg === IPVS_DEPRECATION_MESSAGE);
    expect(deprecation?.level, r.output).toBe(50);
    expect(logged.some((l) => l.warning === DEFAULT_MODE_WARNING)).toBe(false);
  }, 60_000);

  it('the mode left to default: the v1.37 warning, and iptables runs', async () => {
    const d = startDaemon(ns, BASE);
    try {
      await waitReady(d);
      const logged = lines(d.output());
      expect(logged.filter((l) => l.warning === DEFAULT_MODE_WARNING).map((l) => l.level)).toEqual([40]);
      expect(logged.some((l) => l.msg === IPVS_DEPRECATION_MESSAGE)).toBe(false);
    } finally {
      await d.stop();
    }
  }, 60_000);

  it('KubeProxyIPVS=false refuses ipvs mode with one line naming the gate', async () => {
    const r = await runDaemonOnce(ns, [...BASE, '--proxy-mode', 'ipvs', '--feature-gates', 'KubeProxyIPVS=false']);
    expect(r.code).toBe(1);
    expect(r.output).toContain('"ipvs" is disabled by the KubeProxyIPVS feature gate');
    expect(r.output).not.toContain(IPVS_DEPRECATION_MESSAGE);
  }, 60_000);
});

