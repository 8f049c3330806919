// The iptables shell against the real tools, each case in a throw-away namespace: single-rule
// commands, restore failures naming the line, back-end detection as iptables-wrapper does,
// clean-up that spares foreign rules, conntrack deletion of real flows, local addresses.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupPayload, createIptablesApplier } from '../src/backends/common/iptables-rules-applier.ts';
import { argsToRestore, kubeletJumps, requiredJumps } from '../src/backends/iptables/jumps.ts';
import type { Exec } from '../src/system/exec.ts';
import { createConntrack } from '../src/system/conntrack.ts';
import { detectBackend } from '../src/system/detect-iptables-backend.ts';
import { RestoreError, createIptables, type XtablesBackend } from '../src/system/iptables.ts';
import { localAddresses } from '../src/system/local-addresses.ts';
import { createNamespace, deleteAllNamespaces, execIn, ipIn, nsExec } from './support/netns.ts';
import { describeWith } from './support/requirements.ts';
import { buildTopology, udpRequest } from './support/topology.ts';

const backends: readonly XtablesBackend[] = ['legacy', 'nft'];

describeWith('iptables system helpers', ['root', 'iptables', 'conntrack'], () => {
  afterAll(async () => {
    await deleteAllNamespaces();
  });

  for (const backend of backends) {
    it(`${backend}: ensures chains and prepended rules idempotently, deletes them`, async () => {
      const ns = await createNamespace(`ipt-${backend}`);
      const ipt = createIptables(nsExec(ns), 'IPv4', backend);
      expect(await ipt.chainExists('nat', 'KUBE-SERVICES')).toBe(false);
      expect(await ipt.ensureChain('nat', 'KUBE-SERVICES')).toBe(false);
      expect(await ipt.ensureChain('nat', 'KUBE-SERVICES')).toBe(true);
      const rule = ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'];
      await execIn(ns, `iptables-${backend}`, ['-t', 'nat', '-A', 'PREROUTING', '-s', '198.51.100.9', '-j', 'ACCEPT']);
      expect(await ipt.ensureRule('prepend', 'nat', 'PREROUTING', rule)).toBe(false);
      expect(await ipt.ensureRule('prepend', 'nat', 'PREROUTING', rule)).toBe(true);
      const saved = await ipt.save('nat');
      const pre = saved.split('\n').filter((l) => l.startsWith('-A PREROUTING'));
      expect(pre).toEqual([
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A PREROUTING -s 198.51.100.9/32 -j ACCEPT',
      ]);
      expect(await ipt.deleteRule('nat', 'PREROUTING', rule)).toBe(true);
      expect(await ipt.deleteRule('nat', 'PREROUTING', rule)).toBe(false);
    });

    it(`${backend}: a failed restore names the failing line and leaves the tables as they were`, async () => {
      const ns = await createNamespace(`restore-${backend}`);
      const ipt = createIptables(nsExec(ns), 'IPv4', backend);
      await ipt.restore('*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.1/32 -j RETURN\nCOMMIT\n');
      const bad = '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j KUBE-SVC-MISSING\nCOMMIT\n';
      const err = await ipt.restore(bad).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RestoreError);
      const r = err as RestoreError;
      expect(r.code).toBe('KP_ERR_EXEC');
      // legacy blames the rule (line 3), nft the COMMIT that found the dangling jump (line 4)
      expect([3, 4]).toContain(r.line);
      expect(r.context).toContain('KUBE-SVC-MISSING');
      expect(await ipt.save('nat')).toContain('-A KUBE-SERVICES -d 10.96.0.1/32 -j RETURN');
    });

    it(`${backend}: ensureJumps lists each built-in chain once; jumps already there cost no -C/-I process`, async () => {
      const ns = await createNamespace(`jumps-${backend}`);
      const calls: string[] = [];
      const base = nsExec(ns);
      const counting: Exec = (file, args, o) => {
        calls.push(`${file} ${args.join(' ')}`);
        return base(file, args, o);
      };
      const applier = createIptablesApplier(createIptables(counting, 'IPv4', backend));
      const jumps = [...requiredJumps(), ...kubeletJumps()];
      await applier.ensureJumps(jumps);
      calls.length = 0;
      await applier.ensureJumps(jumps);
      // Only listings of the built-in chains jumped from (never a whole-table save), one each.
      const chainsJumpedFrom = new Set(jumps.map((j) => `-t ${j.table} -S ${j.chain}`));
      expect(calls.filter((c) => !/ -S [A-Z]+$/.test(c))).toEqual([]);
      expect(calls).toHaveLength(chainsJumpedFrom.size);
      // Each jump once, in upstream's order: the later ones prepended ahead.
      const saved = (await execIn(ns, `iptables-${backend}-save`, [])).stdout.split('\n');
      for (const j of jumps) expect(saved.filter((l) => l === `-A ${j.chain} ${argsToRestore(j.args)}`), `${j.chain} -> ${j.target}`).toHaveLength(1);
      expect(saved.filter((l) => l.startsWith('-A INPUT ')).map((l) => /-j (\S+)/.exec(l)?.[1])).toEqual(['KUBE-FIREWALL', 'KUBE-PROXY-FIREWALL', 'KUBE-NODEPORTS', 'KUBE-EXTERNAL-SERVICES']);
    });

    it(`${backend}: clean-up removes every KUBE chain and jump and spares foreign rules and kubelet's chain`, async () => {
      const ns = await createNamespace(`cleanup-${backend}`);
      const ipt = createIptables(nsExec(ns), 'IPv4', backend);
      const applier = createIptablesApplier(ipt);
      await applier.ensureCanary();
      await applier.ensureJumps([
        { table: 'nat', chain: 'PREROUTING', target: 'KUBE-SERVICES', args: ['-j', 'KUBE-SERVICES'] },
        { table: 'filter', chain: 'INPUT', target: 'KUBE-FIREWALL', args: ['-j', 'KUBE-FIREWALL'] },
        // a userspace-mode leftover
        { table: 'nat', chain: 'OUTPUT', target: 'KUBE-PORTALS-HOST', args: ['-m', 'comment', '--comment', 'handle ClusterIPs; NOTE: this must be before the NodePort rules', '-j', 'KUBE-PORTALS-HOST'] },
      ]);
      await ipt.restore(
        '*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n:KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]\n' +
          '-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-AAAAAAAAAAAAAAAA\n' +
          '-A KUBE-SVC-AAAAAAAAAAAAAAAA -j KUBE-SEP-BBBBBBBBBBBBBBBB\n' +
          '-A KUBE-SEP-BBBBBBBBBBBBBBBB -p tcp -m tcp -j DNAT --to-destination 10.244.1.10:80\n' +
          ':FOREIGN - [0:0]\n-A FOREIGN -s 198.51.100.0/24 -j KUBE-SERVICES\n-A FOREIGN -j RETURN\nCOMMIT\n',
      );
      await execIn(ns, `iptables-${backend}`, ['-A', 'INPUT', '-s', '198.51.100.7', '-j', 'DROP']);
      await applier.cleanup();
      const all = (await execIn(ns, `iptables-${backend}-save`, [])).stdout;
      const kube = all.split('\n').filter((l) => l.includes('KUBE-'));
      expect(kube).toEqual([':KUBE-FIREWALL - [0:0]', '-A INPUT -j KUBE-FIREWALL']);
      expect(all).toContain('-A INPUT -s 198.51.100.7/32 -j DROP');
      expect(all).toContain('-A FOREIGN -j RETURN');
      expect(await applier.canaryPresent()).toBe(false);
    });
  }

  it('clean-up payload is empty when nothing of ours exists', () => {
    expect(cleanupPayload('nat', '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\nCOMMIT\n')).toBe('');
  });

  it('detects nft by default, legacy or nft by kubelet markers, and honours an override', async () => {
    const plain = await createNamespace('detect-plain');
    expect((await detectBackend(nsExec(plain), 'auto', ['IPv4'])).backend).toBe('nft');
    expect((await detectBackend(nsExec(plain), 'legacy', ['IPv4'])).backend).toBe('legacy');

    const legacy = await createNamespace('detect-legacy');
    await execIn(legacy, 'iptables-legacy', ['-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT']);
    expect(await detectBackend(nsExec(legacy), 'auto', ['IPv4'])).toEqual({
      backend: 'legacy',
      reason: 'kubelet chains found in iptables-legacy',
    });

    const nft = await createNamespace('detect-nft');
    await execIn(nft, 'iptables-legacy', ['-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY']);
    await execIn(nft, 'iptables-nft', ['-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY']);
    expect((await detectBackend(nsExec(nft), 'auto', ['IPv4'])).backend).toBe('nft');
  });

  it('falls back to legacy when iptables-nft cannot run', async () => {
    const ns = await createNamespace('detect-nonft');
    // An Exec for which the nft binaries fail, as on a kernel without nf_tables.
    const base = nsExec(ns);
    const noNft: typeof base = (file, args, opts) =>
      file.includes('-nft') ? base('false', [], opts) : base(file, args, opts);
    expect(await detectBackend(noNft, 'auto', ['IPv4'])).toEqual({
      backend: 'legacy',
      reason: 'nft unusable on this kernel (iptables-nft-save fails); falling back to legacy',
    });
    await expect(detectBackend(noNft, 'nft', ['IPv4'])).rejects.toThrow(/nft back-end requested/);
  });

  it('falls back to legacy when iptables-nft reads but cannot write (kernel without nf_tables)', async () => {
    const ns = await createNamespace('detect-nowrite');
    const base = nsExec(ns);
    // The IPVS test kernel's behaviour: saves succeed on faked built-in tables, -N fails.
    const readOnlyNft: typeof base = (file, args, opts) =>
      file === 'iptables-nft' && args.includes('-N')
        ? base('sh', ['-c', 'echo "iptables v1.8.9 (nf_tables):  TABLE_ADD failed (Operation not supported): table mangle" >&2; exit 4'], opts)
        : base(file, args, opts);
    const choice = await detectBackend(readOnlyNft, 'auto', ['IPv4']);
    expect(choice.backend).toBe('legacy');
    expect(choice.reason).toContain('Operation not supported');
    await expect(detectBackend(readOnlyNft, 'nft', ['IPv4'])).rejects.toThrow(/requested but unusable/);
    // A usable nft back-end with the probe chain already there is still nft.
    expect((await detectBackend(base, 'auto', ['IPv4'])).backend).toBe('nft');
    expect((await detectBackend(base, 'auto', ['IPv4'])).backend).toBe('nft');
  });

  it('lists the namespace addresses with ip -j addr', async () => {
    const ns = await createNamespace('addrs');
    await ipIn(ns, ['link', 'add', 'name', 'veth-x', 'type', 'veth', 'peer', 'name', 'veth-y']);
    await ipIn(ns, ['addr', 'add', '192.0.2.33/24', 'dev', 'veth-x']);
    const v4 = await localAddresses(nsExec(ns), 'IPv4');
    expect(v4).toEqual([
      { ip: '127.0.0.1', prefixLength: 8, family: 'IPv4', interface: 'lo' },
      { ip: '192.0.2.33', prefixLength: 24, family: 'IPv4', interface: 'veth-x' },
    ]);
  });
});

describeWith('conntrack clean-up of real UDP flows', ['root', 'iptables', 'conntrack'], () => {
  let topo: Awaited<ReturnType<typeof buildTopology>>;
  beforeAll(async () => {
    topo = await buildTopology({ nodes: [{ name: 'ct-node', pods: [{ name: 'ct-pod' }] }] });
  });
  afterAll(async () => {
    await topo?.teardown();
  });

  it('deletes only the flows NATed to the given endpoint, and 0 deleted is success', async () => {
    const node = topo.node('ct-node');
    const pod = topo.pod('ct-pod');
    const nat = ['-t', 'nat', '-A', 'PREROUTING', '-p', 'udp', '--dport', '30053', '-j', 'DNAT', '--to-destination', `${pod.ip}:53`];
    await execIn(node.ns, 'iptables-nft', nat);
    expect(await udpRequest(topo.client.ns, node.ip, 30053)).toEqual([{ ok: true, pod: 'ct-pod', source: topo.client.ip }]);
    const ct = createConntrack(nsExec(node.ns));
    expect(await ct.clear('IPv4', 'UDP', { kind: 'nodeport-to-endpoint', port: 30053, endpointIP: '10.244.1.99' })).toBe(0);
    expect(await ct.clear('IPv4', 'UDP', { kind: 'nodeport-to-endpoint', port: 30053, endpointIP: pod.ip })).toBe(1);
    expect(await ct.clear('IPv4', 'UDP', { kind: 'nodeport', port: 30053 })).toBe(0);
    expect(await udpRequest(topo.client.ns, node.ip, 30053)).toHaveLength(1);
    expect(await ct.clear('IPv4', 'UDP', { kind: 'service-ip', ip: node.ip })).toBe(1);
  });
});
