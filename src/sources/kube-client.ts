// The API client the informers list and watch with, built from one KubeConfig (see kubeconfig.ts).
// Kept as a small object so main.ts wires it once and tests build it against the test API server.
// No generated API clients: lists go through api-list.ts, watches through watch.ts.
import type { KubeConfig } from './kube-config.ts';
import { ProxyKubeConfig } from './kubeconfig.ts';

export interface KubeClient {
  readonly kc: KubeConfig;
  /** A request got 401: drop cached credentials so the retry reads them again (kubeconfig.ts). */
  readonly onUnauthorized?: () => void;
}

export function createKubeClient(kc: KubeConfig): KubeClient {
  return kc instanceof ProxyKubeConfig ? { kc, onUnauthorized: () => kc.tokenRejected() } : { kc };
}
