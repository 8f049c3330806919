// Part of the composition root: `--init-only`, upstream's split of the privileged start-up
// (cmd/kube-proxy/app/options.go InitAndExit): do what needs full root — the conntrack sysctls
// (server_linux.go setupConntrack) and the mode's own kernel settings, which upstream's proxier
// constructors make before returning early on initOnly ("System initialized and --init-only
// specified") — then exit 0, so that an init container does them and the long-running container
// can run with only CAP_NET_ADMIN. No source is started and no rule is written. Unlike upstream
// (whose NewProxyServer builds the API client and, since v1.33, waits for its Node first), nothing
// here talks to the API server: the node IPs do not change any of these settings.
import type { InitOnlyDeps as ModeInitDeps, IpvsTimeoutSetter } from '../backends/mode-entry.ts';
import { modeEntry } from '../backends/modes.ts';
import { applyConntrackSysctls } from './apply-conntrack-sysctls.ts';

export type { IpvsTimeoutSetter };

export interface InitOnlyDeps extends ModeInitDeps {
  readonly numCPU: number;
}

export async function runInitOnly(d: InitOnlyDeps): Promise<void> {
  const { config, sysctl, logger } = d;
  // Failures here are logged and not fatal, as in a normal start.
  await applyConntrackSysctls(config, sysctl, logger, d.numCPU);
  await modeEntry(config.mode).initOnly(d);
  logger.info({ mode: config.mode }, 'System initialized and --init-only specified');
}
