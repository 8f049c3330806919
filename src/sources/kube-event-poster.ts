// The EventPoster over the API client: POST /apis/events.k8s.io/v1/namespaces/<ns>/events
// (listed in api-requests.ts, granted by deploy/clusterrole.yaml). A plain JSON POST
// authenticated as every other request (api-list.ts), not client-node's generated EventsV1Api:
// that would load the whole generated API (~30 MiB of RSS), and client-node is not in the image
// (kube-config.ts). The event is already wire JSON (eventTime a MicroTime string).
import type { KubeConfig } from './kube-config.ts';
import { postJson } from './api-list.ts';
import type { EventPoster, NodeEvent } from './node-events.ts';

export function createEventPoster(kc: KubeConfig): EventPoster {
  return {
    async post(event: NodeEvent): Promise<void> {
      await postJson(kc, `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`, event);
    },
  };
}
