// The IPVS test-kernel runner itself: exit codes, output, result file, env quoting and the
// kill-on-timeout path all have to work before any IPVS suite can be trusted.
import { expect, it } from 'vitest';
import { describeWith } from './requirements.ts';
import { runInUml } from './uml.ts';

describeWith('runInUml', ['uml'], () => {
  it('returns the exit code, stdout and the result JSON, with env quoted', async () => {
    const script =
      'require("node:fs").writeFileSync(process.env.KPT_UML_RESULT, JSON.stringify({ v: process.version, foo: process.env.FOO, kernel: require("node:os").release() })); console.log("out"); process.exit(7)';
    const r = await runInUml({ command: [process.execPath, '-e', script], env: { FOO: "it's a b" } });
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('out\n');
    expect(r.resultJson).toEqual({ v: process.version, foo: "it's a b", kernel: expect.stringMatching(/^6\.1\./) });
  });

  it('has IPVS and the dummy link type', async () => {
    const r = await runInUml({
      command: ['/bin/sh', '-c', 'cat /proc/net/ip_vs && ip link add kpt0 type dummy && ip -o link show kpt0'],
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('IP Virtual Server version 1.2.1');
    expect(r.stdout).toContain('kpt0');
  });

  it('kills the kernel when the command outlives the timeout', async () => {
    await expect(runInUml({ command: ['/bin/sleep', '600'], timeoutMs: 5_000 })).rejects.toThrow(/timed out after 5000 ms/);
  });
});
