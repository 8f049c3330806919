// The registry is data; each mode's implementation (proxier, renderer, applier, netlink families,
// tracer) is imported when that mode uses it (issue 14: idle RSS). A fresh Node process records
// every module it loads (module.registerHooks), so what a daemon in one mode pays is visible.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('..', import.meta.url));

/** The src/-relative modules loaded by running `script` (an ES module body) in a fresh process. */
function loadedBy(script: string): string[] {
  const hook = `import { registerHooks } from 'node:module'; globalThis.__loaded = []; registerHooks({ load(url, ctx, next) { globalThis.__loaded.push(url); return next(url, ctx); } });`;
  const body = `${script}\nconsole.log(JSON.stringify(globalThis.__loaded));`;
  const out = execFileSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, '--input-type=module', '-e', body], { cwd: SRC, encoding: 'utf8' });
  const prefix = new URL('..', import.meta.url).href;
  return (JSON.parse(out.trim().split('\n').pop() ?? '[]') as string[]).filter((u) => u.startsWith(prefix)).map((u) => u.slice(prefix.length));
}

const registry = new URL('./modes.ts', import.meta.url).href;
const heavy = /(^|\/)(trace\/|proxier\.ts$|io\/setup\.ts$|render|ipvs-applier\.ts$|netlink\/nftables\/|system\/ipvs-client\.ts$|relay-)/;

describe('the mode registry loads no mode implementation', () => {
  it('importing it (as main.ts, --proxy-mode validation and leftover clean-up do) loads no proxier, renderer, applier or tracer', () => {
    const loaded = loadedBy(`await import(${JSON.stringify(registry)});`);
    expect(loaded).toContain('backends/modes.ts');
    expect(loaded.filter((f) => heavy.test(f))).toEqual([]);
  });

  // ipvs and userspace write iptables rules beside their own state, and trace them with the
  // iptables mode's packet tracer; no mode's tracer needs nftables' or ipvs's.
  it.each([
    ['iptables', []],
    ['ipvs', ['iptables']],
    ['userspace', ['iptables']],
    ['nftables', []],
  ])('%s: its tracer is loaded when trace asks for it, beside it only %j', (mode, uses) => {
    const load = (m: string): string[] => loadedBy(`const { modeEntry } = await import(${JSON.stringify(registry)}); ${m === '' ? '' : `await modeEntry(${JSON.stringify(m)}).trace();`}`);
    const tracers = (files: string[]): string[] => files.filter((f) => /\/trace\/trace-(iptables|ipvs|userspace|nftables)\.ts$/.test(f)).sort();
    expect(tracers(load(''))).toEqual([]);
    expect(tracers(load(mode))).toEqual([mode, ...uses].map((m) => `backends/${m}/trace/trace-${m}.ts`).sort());
  });
});
