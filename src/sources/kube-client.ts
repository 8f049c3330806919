// The API clients the informers list with, built from one KubeConfig (see kubeconfig.ts). Kept as
// a small object so main.ts wires it once and tests build it against the test API server.
import { CoreV1Api, DiscoveryV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeProxyError } from '../errors.ts';
import { ProxyKubeConfig } from './kubeconfig.ts';

export interface KubeClient {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly networking: NetworkingV1Api;
  /** A request got 401: drop cached credentials so the retry reads them again (kubeconfig.ts). */
  readonly onUnauthorized?: () => void;
}

export function createKubeClient(kc: KubeConfig): KubeClient {
  try {
    const client = { kc, core: kc.makeApiClient(CoreV1Api), discovery: kc.makeApiClient(DiscoveryV1Api), networking: kc.makeApiClient(NetworkingV1Api) };
    return kc instanceof ProxyKubeConfig ? { ...client, onUnauthorized: () => kc.tokenRejected() } : client;
  } catch (err) {
    throw new KubeProxyError('KP_ERR_KUBECONFIG', 'cannot build API client from kubeconfig', { cause: err });
  }
}
