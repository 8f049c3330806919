// Back-end detection on the IPVS test kernel, which has no nf_tables: iptables-nft reads succeed
// there (built-in tables are faked) while every write fails, so `auto` must land on legacy, and
// the legacy back-end must then really program rules.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeWith } from './support/requirements.ts';
import { runInUml } from './support/uml.ts';

const backendModule = fileURLToPath(new URL('../src/system/detect-iptables-backend.ts', import.meta.url));
const iptablesModule = fileURLToPath(new URL('../src/system/iptables.ts', import.meta.url));
const execModule = fileURLToPath(new URL('../src/system/exec.ts', import.meta.url));

const script = `
const { detectBackend } = await import(${JSON.stringify(backendModule)});
const { createIptables } = await import(${JSON.stringify(iptablesModule)});
const { exec } = await import(${JSON.stringify(execModule)});
const { writeFileSync } = await import('node:fs');
const auto = await detectBackend(exec, 'auto', ['IPv4']);
let forced = null;
try { await detectBackend(exec, 'nft', ['IPv4']); } catch (err) { forced = err.message; }
const ipt = createIptables(exec, 'IPv4', auto.backend);
await ipt.restore('*nat\\n:KUBE-SERVICES - [0:0]\\n-A KUBE-SERVICES -d 10.96.0.1/32 -j RETURN\\nCOMMIT\\n');
const saved = await ipt.save('nat');
writeFileSync(process.env.KPT_UML_RESULT, JSON.stringify({ auto, forced, saved }));
`;

describeWith('iptables back-end on a kernel without nf_tables', ['uml'], () => {
  it('auto falls back to legacy, forced nft is refused, and legacy programs rules', async () => {
    const r = await runInUml({ command: [process.execPath, '--input-type=module', '-e', script] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.resultJson as { auto: { backend: string; reason: string }; forced: string | null; saved: string };
    expect(out.auto.backend).toBe('legacy');
    expect(out.auto.reason).toMatch(/nft unusable on this kernel \(.*not supported.*\)/i);
    expect(out.forced).toMatch(/nft back-end requested but unusable/);
    expect(out.saved).toContain('-A KUBE-SERVICES -d 10.96.0.1/32 -j RETURN');
  });
});
