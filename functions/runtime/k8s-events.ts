/**
 * Kubernetes Events (core/v1) on the objects ripple acts on or refuses to touch: `kubectl describe` and
 * `kubectl get events` show what ripple did and why. Reason + message only; never object data.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import type { Kube } from './kube.ts';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventInput {
  /** CamelCase, e.g. `UnmanagedObject`, `CopyUpdated`, `RestartTriggered`. */
  reason: string;
  /** One sentence naming object and field, no values. Truncated to 1024 characters. */
  message: string;
  type?: 'Normal' | 'Warning';
  /** Which part of ripple reports it: `clone`, `rollout`, `protect`. */
  component: string;
}

/** The Event object (pure; exported for tests). */
export function buildEvent(obj: InvolvedObject, e: EventInput, now = new Date()): CoreV1Event {
  const ns = obj.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${obj.name}.`, namespace: ns },
    involvedObject: {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.name,
      ...(obj.namespace ? { namespace: obj.namespace } : {}),
      ...(obj.uid ? { uid: obj.uid } : {}),
      ...(obj.resourceVersion ? { resourceVersion: obj.resourceVersion } : {}),
    },
    reason: e.reason,
    message: e.message.length > 1024 ? `${e.message.slice(0, 1021)}...` : e.message,
    type: e.type ?? 'Normal',
    source: { component: `ripple-${e.component}` },
    reportingComponent: `ripple.dev/${e.component}`,
    reportingInstance: `ripple-${e.component}`,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/**
 * Create the Event (in the object's namespace; `default` for cluster-scoped objects). Throws RippleErrors.
 * A plain JSON POST whose answer is not model-decoded: one Event per restarted workload is written on the hot
 * path of a fan-out, and nothing reads the created Event back.
 */
export async function recordEvent(kube: Pick<Kube, 'raw'>, obj: InvolvedObject, e: EventInput): Promise<void> {
  const body = buildEvent(obj, e);
  const namespace = body.metadata!.namespace!;
  await kube.raw.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, { describe: { verb: 'create', resource: 'events', namespace, name: body.metadata!.generateName }, body, discardAnswer: true });
}
