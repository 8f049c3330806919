// Part of the composition root: the iptables back-end (legacy or nft) is detected ONCE per process
// start and the choice is handed to everything that writes iptables rules (the mode's proxiers and
// the leftover clean-up after the first sync). Detecting again per consumer ran the same saves and
// the nft write probe several times at start, and two detections could in principle disagree
// (kubelet creating its hint chain in between) and split our rules over two back-ends
// (kubernetes/kubernetes#71305). Upstream's image decides once too: the iptables-wrapper replaces
// the iptables symlinks on its first run (kubernetes-sigs/iptables-wrappers).
import type { ProxyConfig } from '../config/types.ts';
import type { Logger } from '../model/logger.ts';
import type { IPFamily } from '../model/types.ts';
import type { Exec } from '../system/exec.ts';
import { detectBackend, type BackendChoice } from '../system/detect-iptables-backend.ts';

export type { BackendChoice } from '../system/detect-iptables-backend.ts';

/**
 * What the factories in src/backends accept once they take the detected back-end instead of
 * detecting it themselves (`choice ?? await detectBackend(...)`).
 */
export interface BackendInput {
  readonly backend?: BackendChoice;
}

export interface BackendDetectDeps {
  readonly config: ProxyConfig;
  readonly families: readonly IPFamily[];
  readonly exec: Exec;
  readonly logger: Logger;
}

/**
 * The back-end for this run, probed on every family the node has: every mode writes iptables rules
 * for each family it proxies. Not for --dry-run, which touches nothing (not even a probe chain).
 */
export async function detectRunBackend(d: BackendDetectDeps): Promise<BackendChoice> {
  return detectBackend(d.exec, d.config.iptables.backend, d.families, d.logger);
}
