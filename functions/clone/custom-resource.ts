/**
 * The CloudFormation custom-resource protocol of the deploy-time resync (Custom::RippleReconcile): run the work,
 * retry a transient failure a few times in the invocation (CloudFormation does not redeliver, and a FAILED answer
 * rolls the deploy back), answer SUCCESS or FAILED on the request's ResponseURL; a Delete has nothing to do.
 */
import { FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE } from '../../core/constants.ts';
import { RetryableError } from '../../core/errors.ts';
import { orNull, type KubeFor } from '../runtime/kube.ts';
import { errorReason, type Observability } from '../runtime/middleware.ts';
import type { CloudFormationEvent, Trigger } from './triggers.ts';

/** PUT the response body on the pre-signed ResponseURL. */
export async function putResponse(url: string, body: object): Promise<void> {
  const text = JSON.stringify(body);
  const res = await fetch(url, { method: 'PUT', body: text, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(text)) }, signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
    throw new RetryableError(`CloudFormation response PUT failed: ${(err as Error).message}`);
  });
  if (!res.ok) throw new RetryableError(`CloudFormation response PUT answered HTTP ${res.status}`);
}

export interface CustomResourceDeps {
  observability: Observability;
  /** PUT a CloudFormation custom-resource response. */
  respond: (url: string, body: object) => Promise<void>;
  /** Pauses between in-invocation retries of a deploy-time reconcile that failed with a retryable error. */
  cfnRetryDelaysMs: number[];
}

export async function answerCloudFormation(deps: CustomResourceDeps, trigger: Extract<Trigger, { type: 'cloudformation' }>, work: () => Promise<{ reason: string; data: Record<string, unknown> }>): Promise<object> {
  const e: CloudFormationEvent = trigger.event;
  const base = { PhysicalResourceId: e.PhysicalResourceId ?? `ripple-clone-resync-${trigger.cluster}`, StackId: e.StackId, RequestId: e.RequestId, LogicalResourceId: e.LogicalResourceId, NoEcho: false };
  let body: object | null = null;
  // A transient error (throttling, a 5xx, a key not there yet) is retried here a few times: CloudFormation
  // does not redeliver, and a FAILED answer rolls the deploy back.
  for (let attempt = 0; !body; attempt++) {
    try {
      const { reason, data } = e.RequestType === 'Delete' ? { reason: 'nothing to do on delete', data: {} } : await work();
      body = { ...base, Status: 'SUCCESS', Reason: reason, Data: data };
    } catch (err) {
      const delay = deps.cfnRetryDelaysMs[attempt];
      if (err instanceof RetryableError && delay !== undefined) {
        deps.observability.logger.warn('deploy-time reconcile failed; retrying before answering CloudFormation', { attempt: attempt + 1, reason: errorReason(err) });
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      body = { ...base, Status: 'FAILED', Reason: errorReason(err).slice(0, 3000) };
    }
  }
  await deps.respond(e.ResponseURL, body);
  return body;
}

/**
 * The deploy-time resync over the stack's clusters: a cluster whose fingerprint key is not there yet is reported
 * as not synced (the forwarder creates the key and requests a resync on start); any other failure fails the answer.
 */
export async function deployResync(
  kubeFor: KubeFor,
  clusters: readonly string[],
  reconcileOne: (cluster: string) => Promise<{ policies: number; writes: number }>,
  /** Per cluster, before the resync (deploy-checks.ts: one stage per cluster, forwarder restarted for its association). */
  prepare?: (cluster: string, kube: Awaited<ReturnType<KubeFor>>) => Promise<string | null>,
): Promise<{ reason: string; data: Record<string, unknown> }> {
  const data: Record<string, unknown> = { Writes: 0 };
  const reasons: string[] = [];
  for (const cluster of clusters) {
    const kube = await kubeFor(cluster);
    const prepared = prepare ? await prepare(cluster, kube) : null;
    if (prepared) reasons.push(`${cluster}: ${prepared}`);
    const keySecret = await orNull(kube.core.readNamespacedSecret({ name: FINGERPRINT_KEY_SECRET, namespace: RIPPLE_NAMESPACE }));
    if (!keySecret) {
      reasons.push(`${cluster}: not synced yet (${RIPPLE_NAMESPACE}/${FINGERPRINT_KEY_SECRET} is absent; the forwarder creates it and requests a resync on start)`);
      continue;
    }
    const summary = await reconcileOne(cluster);
    data.Writes = (data.Writes as number) + summary.writes;
    reasons.push(`${cluster}: ${summary.policies} policies, ${summary.writes} writes`);
  }
  return { reason: reasons.join('; '), data };
}
