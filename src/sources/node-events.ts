// Events about this node, as upstream kube-proxy records them: an events.k8s.io/v1 Event regarding
// the Node (events.NewEventBroadcasterAdapter / recorder.Eventf(nodeRef, nil, type, reason, action,
// note) in cmd/kube-proxy/app/server.go). The Node is cluster-scoped, so the Event goes to the
// `default` namespace, as client-go's events library puts it. Posting goes through EventPoster, an
// injected interface (kube-event-poster.ts over the API client; tests post to the test API server).
// Pure: clock and poster injected; a failed post is logged, never thrown (an Event is advisory).
import { describeError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';

/** The reporting controller upstream's recorder names (NewRecorder(scheme, "kube-proxy")). */
export const REPORTING_CONTROLLER = 'kube-proxy';
/** Where Events about cluster-scoped objects go (metav1.NamespaceDefault). */
export const EVENT_NAMESPACE = 'default';

export interface NodeEvent {
  readonly apiVersion: 'events.k8s.io/v1';
  readonly kind: 'Event';
  readonly metadata: { readonly name: string; readonly namespace: string };
  /** RFC 3339 with microseconds (metav1.MicroTime). */
  readonly eventTime: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly action: string;
  readonly reason: string;
  /** Upstream's nodeRef: kind Node, the name, and the name as UID. */
  readonly regarding: { readonly kind: 'Node'; readonly name: string; readonly uid: string };
  readonly note: string;
  readonly type: 'Normal' | 'Warning';
}

/** Sends one Event to the API server. */
export interface EventPoster {
  post(event: NodeEvent): Promise<void>;
}

export interface NodeEventInput {
  readonly nodeName: string;
  /** The host's name, for reportingInstance (`kube-proxy-<hostname>`, as client-go's recorder). */
  readonly hostname: string;
  readonly nowMs: number;
  readonly type: NodeEvent['type'];
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

/** metav1.MicroTime's text: `2006-01-02T15:04:05.000000Z`. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function nodeEvent(i: NodeEventInput): NodeEvent {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    // client-go's events library: `<regarding name>.<unix nanoseconds in hex>`.
    metadata: { name: `${i.nodeName}.${(BigInt(i.nowMs) * 1_000_000n).toString(16)}`, namespace: EVENT_NAMESPACE },
    eventTime: microTime(i.nowMs),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: `${REPORTING_CONTROLLER}-${i.hostname}`,
    action: i.action,
    reason: i.reason,
    regarding: { kind: 'Node', name: i.nodeName, uid: i.nodeName },
    note: i.note,
    type: i.type,
  };
}

/** Post `event`; a failure is logged with the reason and the Event's reason, and swallowed. */
export async function postNodeEvent(poster: EventPoster, event: NodeEvent, logger: Logger): Promise<boolean> {
  try {
    await poster.post(event);
    return true;
  } catch (err) {
    logger.warn({ reason: event.reason, node: event.regarding.name, err: describeError(err) }, 'could not record an Event on the Node');
    return false;
  }
}
