// Composition root: parses flags and config, builds the real clock, exec, logger, sources,
// proxiers, sync loop and servers, and wires them. Nothing else constructs I/O objects. The shape
// follows upstream cmd/kube-proxy/app/server.go: cleanup or run; wait for the initial lists; sync
// with a bounded-frequency runner; serve health and metrics; on SIGTERM stop without touching the
// programmed rules, so traffic keeps flowing through a rolling update.
import { existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { parseCommandLine } from './cli/parse.ts';
import type { ProxyConfig } from './config/types.ts';
import { effectiveLogLevel } from './config/defaults.ts';
import { describeError, KubeProxyError } from './errors.ts';
import { createLogger } from './logging/logger.ts';
import type { Logger } from './model/logger.ts';
import type { IPFamily, Proxier } from './model/types.ts';
import { startHealthzServer, startMetricsServer, type RunningServer } from './server/http-servers.ts';
import { PromMetrics } from './server/metrics.ts';
import { realClock } from './server/real-clock.ts';
import { ServiceHealthServer } from './server/service-health.ts';
import { announceMode } from './sources/mode-announcement.ts';
import { ProxyHealth } from './sync/proxy-health.ts';
import { SyncLoop } from './sync/sync-loop.ts';
import { SyncStatus, withCommitStatus, withDriftStatus, withSyncStatus } from './sync/sync-status.ts';
import type { DaemonStatus } from './status/daemon-status.ts';
import { exec } from './system/exec.ts';
import { createSysctl } from './system/sysctl.ts';
import { applyConntrackSysctls } from './wiring/apply-conntrack-sysctls.ts';
import { versionLine } from './version.ts';
import { flagzValues } from './cli/flagz.ts';
import { toV1Alpha1 } from './config/encode.ts';
import { modeEntry } from './backends/modes.ts';
import { requirePrimaryFamily } from './backends/common/io/iptables-families.ts';
import { createSource, createSourceAndEvents, createState, waitSynced } from './wiring/cluster-source.ts';
import { runInitOnly } from './wiring/init-only.ts';
import { bounded } from './wiring/shutdown-step.ts';
import { detectRunBackend } from './wiring/run-iptables-backend.ts';
import { createLeftoverCleaner, withLeftoverCleanup } from './wiring/leftover-cleanup.ts';
import { NODE_IP_WAIT_MS, serviceHealthAddresses, startSourceForNodeIPs } from './wiring/node-ip-tracker.ts';
import { cleanupAllModes, createProxiers } from './wiring/proxiers.ts';

/** How long --dry-run waits for the API server's initial lists before giving up. */
const DRY_RUN_LIST_TIMEOUT_MS = 60_000;
/** Below the kubelet's default 30 s grace period, so a hung shutdown still exits by itself. */
const SHUTDOWN_DEADLINE_MS = 20_000;

export async function main(argv: readonly string[]): Promise<number> {
  // Operator tools beside the daemon (src/trace/io/): loaded only when asked for.
  const io = { exec, stdout: (s: string) => void process.stdout.write(s), stderr: (s: string) => void process.stderr.write(s) };
  if (argv[0] === 'trace') return (await import('./trace/io/trace-command.ts')).runTraceCommand(argv.slice(1), io);
  if (argv[0] === 'status') return (await import('./status/io/status-command.ts')).runStatusCommand(argv.slice(1), io);
  const outcome = parseCommandLine(argv, { hostname: hostname() });
  switch (outcome.kind) {
    case 'help':
      process.stdout.write(`${outcome.text}\n`);
      return 0;
    case 'version':
      process.stdout.write(`${versionLine()}\n`);
      return 0;
    case 'error':
      process.stderr.write(`kube-proxy-ts: ${outcome.message}\n`);
      return 1;
    case 'write-config':
      try {
        writeFileSync(outcome.path, outcome.text);
      } catch (err) {
        process.stderr.write(`kube-proxy-ts: --write-config-to: ${describeError(err)}\n`);
        return 1;
      }
      return 0;
    case 'run':
      break;
  }
  const config = outcome.config;
  // --dry-run's stdout is the rules (`... --dry-run | nft --check -f -`): its log lines go to stderr.
  const logger = createLogger({ format: config.logging.format, level: effectiveLogLevel(config.logging), ...(config.dryRun ? { destination: process.stderr } : {}) });
  for (const warning of outcome.warnings) logger.warn({ warning }, 'configuration warning');
  try {
    if (config.cleanup) {
      await cleanupAllModes({ exec, logger, iptablesBackend: config.iptables.backend });
      return 0;
    }
    if (config.initOnly === true) {
      const families = hostFamilies();
      await runInitOnly({ config, families, sysctl: createSysctl(logger), logger, numCPU: availableParallelism() });
      return 0;
    }
    const pages: DebugPages = { flagz: () => flagzValues(outcome.flags), startedMs: Date.now() };
    return config.dryRun ? await dryRun(config, logger) : await runDaemon(config, logger, pages);
  } catch (err) {
    // One clear line for a start-up failure (bad manifests dir, missing kernel support, ...),
    // in the log format the operator chose.
    logger.fatal({ code: KubeProxyError.is(err) ? err.code : undefined, reason: describeError(err) }, 'kube-proxy-ts failed');
    return 1;
  }
}

/**
 * IP families to proxy: IPv4, plus IPv6 where the kernel has it (upstream checks the same way).
 * Every mode is dual-stack: one proxier per family.
 */
function hostFamilies(): IPFamily[] {
  return existsSync('/proc/sys/net/ipv6') ? ['IPv4', 'IPv6'] : ['IPv4'];
}

function nodeIPOptions(config: ProxyConfig, logger: Logger): { nodeName: string; bindAddress: string; waitMs: number; logger: Logger } {
  return { nodeName: config.nodeName, bindAddress: config.bindAddress, waitMs: config.manifestsDir === '' ? NODE_IP_WAIT_MS : 0, logger };
}

/** --dry-run: read the state once, print what the mode would program, change nothing. */
async function dryRun(config: ProxyConfig, logger: Logger): Promise<number> {
  const families = hostFamilies();
  const state = createState(config, families, logger);
  const source = await createSource(config, logger);
  const write = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const { nodeIPs } = await startSourceForNodeIPs({ source, state, ...nodeIPOptions(config, logger) });
  let proxiers: Proxier[] = [];
  try {
    proxiers = await createProxiers({ config, families, exec, logger, write, backend: null, nodeIPs });
    await waitSynced(state, DRY_RUN_LIST_TIMEOUT_MS);
    for (const proxier of proxiers) {
      const snapshot = state.snapshot(proxier.family, { full: true });
      await proxier.sync(snapshot);
    }
  } finally {
    await source.stop();
    for (const p of proxiers) await p.close?.();
  }
  return 0;
}

/** What /flagz and /statusz show (src/server/zpages.ts). */
interface DebugPages {
  readonly flagz: () => Readonly<Record<string, string>>;
  readonly startedMs: number;
}

async function startServers(config: ProxyConfig, logger: Logger, health: ProxyHealth, metrics: PromMetrics, pages: DebugPages, daemonStatus: () => DaemonStatus): Promise<RunningServer[]> {
  const servers: RunningServer[] = [];
  const tryStart = async (start: () => Promise<RunningServer>): Promise<void> => {
    try {
      servers.push(await start());
    } catch (err) {
      // Upstream: fatal only with bindAddressHardFail, otherwise logged and the proxy runs on.
      if (config.bindAddressHardFail) throw err;
      logger.error({ err }, 'server not started');
    }
  };
  const hz = config.healthzBindAddress;
  if (hz) await tryStart(() => startHealthzServer({ host: hz.host, port: hz.port, health, metrics, logger }));
  const m = config.metricsBindAddress;
  if (m) {
    await tryStart(() =>
      startMetricsServer({
        host: m.host, port: m.port, render: () => metrics.render(), proxyMode: config.mode, configz: () => toV1Alpha1(config), logger,
        flagz: pages.flagz, statusz: { startedMs: pages.startedMs, binaryVersion: versionLine() }, daemonStatus,
      }),
    );
  }
  return servers;
}

async function runDaemon(config: ProxyConfig, logger: Logger, pages: DebugPages): Promise<number> {
  logger.info({ version: versionLine(), mode: config.mode, node: config.nodeName, manifests: config.manifestsDir || undefined }, 'starting kube-proxy-ts');
  const mode = modeEntry(config.mode);
  // Only the families the mode can run on here, as upstream's platformCheckSupported.
  const families = await mode.hostFamilies({ config, exec, logger, kernelFamilies: hostFamilies() });
  const metrics = new PromMetrics();
  const state = createState(config, families, logger, metrics);
  const { syncPeriodMs, minSyncPeriodMs } = mode.syncPeriods(config);
  // Upstream: healthTimeout = 2 × syncPeriod (cmd/kube-proxy/app/server.go).
  const health = new ProxyHealth({ clock: realClock, healthTimeoutMs: 2 * syncPeriodMs });
  const { source, events } = await createSourceAndEvents(config, logger, metrics);
  // Not awaited: an Event is advisory and must not hold start-up on a slow API server.
  void announceMode({ mode: config.mode, deprecation: mode.deprecation, nodeName: config.nodeName, hostname: hostname(), logger, events });
  // As upstream's setupConntrack, before any rule is programmed; failures are logged, not fatal.
  await applyConntrackSysctls(config, createSysctl(logger), logger, availableParallelism());
  // The node IPs come from the Node object, so the source starts before the proxiers exist.
  const { tracker, nodeIPs } = await startSourceForNodeIPs({ source, state, ...nodeIPOptions(config, logger) });
  requirePrimaryFamily(nodeIPs.primaryFamily, families);
  // One back-end detection for everything that writes iptables rules (wiring/run-iptables-backend.ts).
  const backend = await detectRunBackend({ config, families, exec, logger });
  // The other modes' leftovers go once this mode's first sync is in place (wiring/leftovers.ts).
  const syncStatus = new SyncStatus();
  const proxiers: Proxier[] = withLeftoverCleanup(
    await createProxiers({ config, families, exec, logger, metrics: withDriftStatus(metrics, syncStatus), backend, nodeIPs }),
    createLeftoverCleaner({ config, exec, logger, backend: backend.backend }),
    logger,
  );
  const serviceHealth = new ServiceHealthServer({
    addresses: serviceHealthAddresses(config.nodePortAddresses, nodeIPs, families),
    proxyHealthy: () => health.isHealthy(),
    logger: logger.child({ component: 'service-health' }),
  });
  const loop = new SyncLoop({
    clock: realClock,
    logger: logger.child({ component: 'sync' }),
    state: withCommitStatus(state, syncStatus),
    proxiers,
    metrics: withSyncStatus(metrics, syncStatus),
    health,
    serviceHealth,
    minSyncPeriodMs,
    syncPeriodMs,
  });
  const startedAt = new Date(pages.startedMs).toISOString();
  const daemonStatus = (): DaemonStatus => ({
    mode: config.mode, backend: mode.leftovers.chains === undefined ? null : backend.backend, checksDrift: mode.checksDrift === true, version: versionLine(), startedAt, families: syncStatus.families(), health: health.healthz().body,
  });
  const servers = await startServers(config, logger, health, metrics, pages, daemonStatus);
  state.onChange(() => {
    health.setNodeEligible(state.node.eligible);
    loop.requestSync();
  });
  health.setNodeEligible(state.node.eligible);
  loop.start();

  const exitCode = await new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'shutting down; programmed rules stay in place');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(0);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    tracker.fix(tracker.ips, (before, after) => {
      // Upstream's NodeManager exits so that the proxiers are rebuilt with the new IPs by a restart.
      if (config.manifestsDir === '') {
        logger.error({ before, after }, 'node IPs changed; exiting to restart with them (rules stay in place)');
        resolve(1);
      } else {
        logger.warn({ before, after }, 'node IPs changed in the Node manifest; restart kube-proxy-ts to use them');
      }
    });
  });
  const deadline = setTimeout(() => {
    logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  // Each step is bounded: a sync still running is left to finish on its own (a restore is one
  // transaction: it commits whole or not at all), as upstream simply exits on SIGTERM.
  await bounded(logger, 'stop sources', source.stop());
  await bounded(logger, 'wait for the running sync', loop.stop());
  await bounded(logger, 'close health-check servers', serviceHealth.close());
  for (const s of servers) await bounded(logger, 'close server', s.close());
  for (const p of proxiers) await bounded(logger, 'close proxier', p.close?.() ?? Promise.resolve());
  return exitCode;
}
