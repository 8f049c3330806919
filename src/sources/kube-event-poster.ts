// The EventPoster over the API client: POST /apis/events.k8s.io/v1/namespaces/<ns>/events
// (listed in api-requests.ts, granted by deploy/clusterrole.yaml).
import { EventsV1Api, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { EventPoster, NodeEvent } from './node-events.ts';

export function createEventPoster(kc: KubeConfig): EventPoster {
  const api = kc.makeApiClient(EventsV1Api);
  return {
    async post(event: NodeEvent): Promise<void> {
      const body: EventsV1Event = { ...event, metadata: { ...event.metadata }, regarding: { ...event.regarding }, eventTime: new Date(event.eventTime) };
      await api.createNamespacedEvent({ namespace: event.metadata.namespace, body });
    },
  };
}
