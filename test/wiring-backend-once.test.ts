// The iptables back-end is detected once per start (src/wiring/run-iptables-backend.ts) and handed to
// every mode's proxiers and to the leftover clean-up, which must not detect again: checked on real
// iptables in a namespace (the ipvs mode inside the IPVS test kernel) by recording every command
// and looking for detection's own signature (a full iptables-legacy-save, the nft canary write probe).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MODES } from '../src/backends/modes.ts';
import { defaultConfig } from '../src/config/defaults.ts';
import type { ProxyConfig } from '../src/config/types.ts';
import type { Exec } from '../src/system/exec.ts';
import { recordingLogger } from '../src/sync/testing/recorders.ts';
import { detectRunBackend } from '../src/wiring/run-iptables-backend.ts';
import { createLeftoverCleaner } from '../src/wiring/leftover-cleanup.ts';
import { createNamespace, deleteNamespace, execIn, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { runInUml } from './support/uml.ts';

function recording(ns: string, calls: string[]): Exec {
  const inner = nsExec(ns);
  return (file, args, options) => {
    calls.push([file, ...args].join(' '));
    return inner(file, args, options);
  };
}

/** What only detectBackend runs: the full legacy save and the nft write probe. */
const isDetection = (call: string): boolean => call === 'iptables-legacy-save' || call.includes('-N KUBE-PROXY-CANARY');

const DRIVER = 'test/support/backend-once-driver.ts';
interface DriverResult { calls: string[]; proxiers?: number; fatal?: string }

/** Modes whose proxiers need IPVS, which only the test kernel has. */
const NEEDS_IPVS = new Set(['ipvs']);

describeWith('one iptables back-end detection per start', ['root', 'iptables'], () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('f-backend');
  });
  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it.each([
    ['auto, ipvs mode', 'auto', 'ipvs'],
    ['forced legacy, iptables mode', 'legacy', 'iptables'],
  ] as const)('detectRunBackend saves each back-end once (%s)', async (_label, requested, mode) => {
    const calls: string[] = [];
    const config: ProxyConfig = { ...defaultConfig(), mode, iptables: { ...defaultConfig().iptables, backend: requested } };
    const choice = await detectRunBackend({ config, families: ['IPv4', 'IPv6'], exec: recording(ns, calls), logger: recordingLogger() });
    expect(choice.backend).toMatch(/^(legacy|nft)$/);
    expect(calls.filter((c) => c === 'iptables-legacy-save')).toHaveLength(1);
    // Every mode is dual-stack, so IPv6 is probed too, once.
    expect(calls.filter((c) => c === 'ip6tables-legacy-save')).toHaveLength(1);
  });

  it('the leftover clean-up uses the detected back-end and detects nothing itself', async () => {
    // iptables-mode leftovers in legacy (what the ipvs mode removes) and a KUBE chain in nft (swept).
    await execIn(ns, 'iptables-legacy', ['-t', 'nat', '-N', 'KUBE-SVC-F0000000000000AA']);
    await execIn(ns, 'iptables-legacy', ['-t', 'nat', '-N', 'KUBE-NODEPORTS']);
    await execIn(ns, 'iptables-nft', ['-t', 'nat', '-N', 'KUBE-SERVICES']);
    const calls: string[] = [];
    const config: ProxyConfig = { ...defaultConfig(), mode: 'ipvs' };
    const clean = createLeftoverCleaner({ config, exec: recording(ns, calls), logger: recordingLogger(), backend: 'legacy' });
    await clean('IPv4');
    expect(calls.filter(isDetection)).toEqual([]);
    const legacy = (await execIn(ns, 'iptables-legacy-save', ['-t', 'nat'])).stdout;
    const nft = (await execIn(ns, 'iptables-nft-save', ['-t', 'nat'])).stdout;
    expect(legacy).not.toContain(':KUBE-SVC-F0000000000000AA');
    expect(legacy).not.toContain(':KUBE-NODEPORTS');
    expect(nft).not.toMatch(/^:KUBE-/m);
  });

  it.each(MODES.filter((m) => !NEEDS_IPVS.has(m.name)).map((m) => m.name))('%s mode: its proxiers take the detected back-end', async (mode) => {
    const dir = mkdtempSync(join(tmpdir(), 'kpt-backend-once-'));
    try {
      const file = join(dir, 'result.json');
      await execIn(ns, 'env', [`KPT_MODE=${mode}`, 'KPT_BACKEND=legacy', `KPT_RESULT=${file}`, process.execPath, DRIVER]);
      const r = JSON.parse(readFileSync(file, 'utf8')) as DriverResult;
      expect(r.fatal).toBeUndefined();
      expect(r.proxiers).toBe(1);
      expect(r.calls.filter(isDetection)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith('one iptables back-end detection per start, IPVS modes', ['root', 'uml'], () => {
  it.each(MODES.filter((m) => NEEDS_IPVS.has(m.name)).map((m) => m.name))('%s mode: its proxiers take the detected back-end', async (mode) => {
    const run = await runInUml({ command: [process.execPath, DRIVER], env: { KPT_MODE: mode, KPT_BACKEND: 'legacy' }, timeoutMs: 240_000 });
    if (run.code !== 0) throw new Error(`driver exit ${run.code}: ${run.stderr}\n${run.console.slice(-2000)}`);
    const r = run.resultJson as DriverResult;
    expect(r.fatal).toBeUndefined();
    expect(r.proxiers).toBe(1);
    expect(r.calls.filter(isDetection)).toEqual([]);
  }, 260_000);
});
