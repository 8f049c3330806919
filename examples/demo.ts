// `npm run demo`: the quick start. Builds a throw-away two-node cluster out of network namespaces
// (test/support/topology.ts), runs the real daemon inside node-a from examples/manifests, sends
// requests through the rules it programs, prints where they landed and how long the syncs took,
// and removes everything again, on Ctrl-C too. Nothing outside its own namespaces is changed
// (DEVELOPERS.md, "Safety of the machine"); only the PIDs it started are ever signalled.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEALTHZ, METRICS, httpGetIn, metricValue, startDaemon, usePrivateXtablesLock, waitReady, type Daemon } from '../test/support/daemon.ts';
import { NS_PREFIX, deleteAllNamespaces, execIn } from '../test/support/netns.ts';
import { buildTopology, tally, tcpRequest, udpRequest, type Reply, type Topology } from '../test/support/topology.ts';

const MANIFESTS = fileURLToPath(new URL('./manifests', import.meta.url));
const REQUESTS = 30;
const NODE = 'node-a';

/** Debian package → the commands that show it is installed. */
const PACKAGES: Readonly<Record<string, readonly string[]>> = {
  iptables: ['iptables-nft-restore', 'iptables-legacy-restore'],
  iproute2: ['ip'],
  conntrack: ['conntrack'],
};

// After a signal the main flow stops at its next step and prints nothing more.
const say = (line = ''): void => {
  if (!interrupted) process.stdout.write(`${line}\n`);
};
const fail = (line: string): never => {
  process.stderr.write(`demo: ${line}\n`);
  process.exit(1);
};
const seconds = (sinceMs: number): string => `${((Date.now() - sinceMs) / 1000).toFixed(1)} s`;

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missingPackages = (): string[] => Object.keys(PACKAGES).filter((pkg) => !(PACKAGES[pkg] ?? []).some(hasCommand));

function isDebianLike(): boolean {
  if (!existsSync('/etc/os-release') || !hasCommand('apt-get')) return false;
  const text = readFileSync('/etc/os-release', 'utf8');
  const ids = [/^ID=(.*)$/m, /^ID_LIKE=(.*)$/m].map((re) => re.exec(text)?.[1]?.replaceAll('"', '') ?? '').join(' ');
  return /\b(debian|ubuntu)\b/.test(ids);
}

/** Installs what is missing with apt-get on Debian/Ubuntu (saying so); elsewhere names it and exits. */
function ensurePackages(): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  if (!isDebianLike()) fail(`missing system packages: ${missing.join(', ')}; install them with your package manager and run again`);
  say(`Installing missing system packages with apt-get: ${missing.join(' ')}`);
  const install = (): number | null =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status;
  if (install() !== 0) {
    say('apt-get install failed; refreshing the package lists once and retrying');
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    if (install() !== 0) fail(`apt-get could not install ${missing.join(', ')}`);
  }
  const still = missingPackages();
  if (still.length > 0) fail(`still missing after apt-get: ${still.join(', ')}`);
}

function bars(replies: readonly Reply[], names: readonly string[]): string[] {
  const t = tally(replies);
  const keys = [...new Set([...names, ...t.keys()])];
  const width = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => {
    const n = t.get(k) ?? 0;
    return `    ${k.padEnd(width)}  ${'#'.repeat(n).padEnd(REQUESTS)}  ${n}`;
  });
}

const sources = (replies: readonly Reply[]): string => [...new Set(replies.flatMap((r) => (r.ok ? [r.source] : [])))].join(', ');

// --- Tear-down, on every way out -------------------------------------------------------------
let topo: Topology | undefined;
let building: Promise<Topology> | undefined;
let daemon: Daemon | undefined;
let cleaning: Promise<void> | undefined;
let interrupted = false;
let backendName: string | undefined;
let restoreLock = (): void => undefined;

class Interrupted extends Error {}

/** Await one step of the demo, and stop there if a signal arrived meanwhile. */
async function step<T>(p: Promise<T>): Promise<T> {
  const v = await p;
  if (interrupted) throw new Interrupted('interrupted');
  return v;
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Wait for a namespace being created, so none is left behind half-registered.
    await building?.then(
      () => undefined,
      (err: unknown) => void err, // the main flow reports the build failure
    );
    await daemon?.stop();
    await deleteAllNamespaces();
    restoreLock();
  })();
  return cleaning;
}

function onSignal(signal: NodeJS.Signals): void {
  interrupted = true;
  process.stdout.write(`\n${signal}: stopping kube-proxy-ts and deleting the sandbox namespaces...\n`);
  cleanup().then(
    () => {
      process.stdout.write('Cleaned up: kube-proxy-ts stopped, sandbox namespaces deleted.\n');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    },
    (err: unknown) => fail(`clean-up failed: ${String(err)}`),
  );
}

/**
 * netns.ts installs its own SIGINT/SIGTERM handler when the first namespace is created; it exits
 * at once, without waiting for the daemon or for a namespace being created. The demo owns its
 * process, so it keeps only its own handler (which ends in the same deleteAllNamespaces).
 */
function ownSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(sig)) if (l !== onSignal) process.removeListener(sig, l);
  }
}

// --- The demo ---------------------------------------------------------------------------------
async function run(): Promise<void> {
  say('kube-proxy-ts demo: a throw-away two-node cluster in network namespaces; nothing outside them changes.');
  let t0 = Date.now();
  building = buildTopology({
    nodes: [
      { name: NODE, pods: [{ name: 'web-a1' }, { name: 'web-a2' }, { name: 'client-a', tcpPorts: [], udpPorts: [] }] },
      { name: 'node-b', pods: [{ name: 'web-b1' }] },
    ],
    tcpPorts: [8080],
    udpPorts: [5353],
  });
  ownSignals(); // buildTopology created its first namespace synchronously, so netns.ts has hooked
  topo = await step(building);
  const node = topo.node(NODE);
  const client = topo.pod('client-a');
  say(`  sandbox ready in ${seconds(t0)}: switch 192.0.2.0/24, ${topo.nodes.map((n) => `${n.name} ${n.ip}`).join(', ')},`);
  say(`    pods ${topo.pods.map((p) => `${p.name} ${p.ip}`).join(', ')}, external client ${topo.client.ip}`);

  t0 = Date.now();
  const flags = ['--manifests', MANIFESTS, '--hostname-override', NODE, '--healthz-bind-address', HEALTHZ, '--metrics-bind-address', METRICS, '--cluster-cidr', '10.244.0.0/16'];
  daemon = startDaemon(node.ns, flags);
  await step(waitReady(daemon));
  const backend = /"backend":"(\w+)"|backend=(\w+)|backend: (\w+)/.exec(daemon.output());
  backendName = backend?.[1] ?? backend?.[2] ?? backend?.[3];
  say(`  kube-proxy-ts ${flags.join(' ').replace(MANIFESTS, relative(process.cwd(), MANIFESTS) || '.')}`);
  say(`    running in ${NODE} (pid ${daemon.pid}, iptables mode${backendName ? `, ${backendName} back-end` : ''}); /healthz 200 after ${seconds(t0)}`);

  const web = ['web-a1', 'web-a2', 'web-b1'];
  say();
  say(`ClusterIP demo/web 10.96.0.10:80, ${REQUESTS} TCP connections from pod client-a (${client.ip}):`);
  let replies = await step(tcpRequest(client.ns, '10.96.0.10', 80, { count: REQUESTS }));
  for (const l of bars(replies, web)) say(l);
  say(`    the pods saw source ${sources(replies)} (pod-to-service traffic is not masqueraded)`);

  say();
  say(`NodePort demo/web-nodeport ${node.ip}:30080, ${REQUESTS} TCP connections from the external client (${topo.client.ip}):`);
  replies = await step(tcpRequest(topo.client.ns, node.ip, 30080, { count: REQUESTS }));
  for (const l of bars(replies, web)) say(l);
  say(`    the pods saw source ${sources(replies)} (externalTrafficPolicy Cluster masquerades)`);

  say();
  replies = await step(tcpRequest(topo.client.ns, node.ip, 30081, { count: 10 }));
  say(`NodePort demo/web-local ${node.ip}:30081 (externalTrafficPolicy Local), 10 from the external client:`);
  for (const l of bars(replies, ['web-a1'])) say(l);
  say(`    only ${NODE}'s own pod answers, and it saw the real client address ${sources(replies)}`);

  say();
  replies = await step(tcpRequest(client.ns, '10.96.0.30', 80, { count: 10 }));
  say(`ClientIP affinity demo/web-sticky 10.96.0.30:80, 10 from client-a: ${[...tally(replies)].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  replies = await step(udpRequest(client.ns, '10.96.0.53', 53, { count: 10 }));
  say(`UDP demo/echo-udp 10.96.0.53:53, 10 datagrams from client-a: ${[...tally(replies)].map(([k, n]) => `${k} ×${n}`).join(', ')}`);

  const m = await step(httpGetIn(node.ns, `http://${METRICS}/metrics`));
  if (!('status' in m)) throw new Error(`metrics server did not answer: ${m.error}`);
  // Labelled by family (ip_family, as upstream v1.33): the IPv4 proxier's syncs.
  const count = metricValue(m.body, 'kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"}') ?? 0;
  const sum = metricValue(m.body, 'kubeproxy_sync_proxy_rules_duration_seconds_sum{ip_family="IPv4"}') ?? 0;
  say();
  say(
    `IPv4 rule syncs (kubeproxy_sync_proxy_rules_duration_seconds from http://${METRICS}/metrics in ${NODE}): ` +
      `${count} syncs, ${count > 0 ? ((sum / count) * 1000).toFixed(1) : '?'} ms on average`,
  );
  if (backendName !== undefined) {
    const nat = (await step(execIn(node.ns, `iptables-${backendName}-save`, ['-t', 'nat']))).stdout;
    const rules = nat.split('\n').filter((l) => l.startsWith('-A KUBE-')).length;
    say(`${NODE}'s IPv4 nat table holds ${rules} KUBE-* rules (iptables-${backendName}-save -t nat inside the namespace)`);
  }
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('demo: needs root, to create network namespaces and program netfilter inside them. Run: sudo npm run demo\n');
    return 1;
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  ensurePackages();
  // The sandbox's own xtables lock: the host's firewall tools never wait on the demo, nor it on them.
  restoreLock = usePrivateXtablesLock();
  try {
    await run();
    return 0;
  } catch (err) {
    if (interrupted) return 130;
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    if (daemon) process.stderr.write(`kube-proxy-ts output:\n${daemon.output()}\n`);
    return 1;
  } finally {
    if (!interrupted) {
      await cleanup();
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(NS_PREFIX));
      say(left.length === 0 ? '\nCleaned up: kube-proxy-ts stopped, sandbox namespaces deleted.' : `\nWARNING: namespaces left behind: ${left.join(', ')}`);
    }
  }
}

process.exitCode = await main();
