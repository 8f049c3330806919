// Says which local-traffic detector a family's rules use, once at start and again whenever it
// changes (in NodeCIDR mode the Node's podCIDRs may arrive after the first sync). Upstream logs it
// once at start (cmd/kube-proxy/app/server_linux.go getLocalDetectors: "Detect-local-mode set to
// NodeCIDR, but no PodCIDR defined at node for primary IP family"); without a detector,
// off-cluster traffic to cluster IPs is not masqueraded and pods' traffic to load-balancer IPs is
// not short-cut, which an operator must be able to see rather than guess.
import type { Logger } from '../../model/logger.ts';
import type { IPFamily } from '../../model/types.ts';
import type { LocalDetector } from './options.ts';

export class LocalDetectorLog {
  readonly #logger: Logger;
  readonly #mode: string;
  readonly #last = new Map<IPFamily, string>();

  constructor(logger: Logger, mode: string) {
    this.#logger = logger;
    this.#mode = mode;
  }

  /** Log `detector` for `family` unless it is the one logged last for that family. */
  note(family: IPFamily, detector: LocalDetector | null): void {
    const key = detector?.ifLocal ?? '';
    if (this.#last.get(family) === key) return;
    this.#last.set(family, key);
    if (detector === null) {
      this.#logger.info({ family, detectLocalMode: this.#mode }, 'no local traffic detector for this family: off-cluster traffic to cluster IPs is not masqueraded');
    } else {
      this.#logger.info({ family, detectLocalMode: this.#mode, match: detector.ifLocal }, 'local traffic detector');
    }
  }
}
