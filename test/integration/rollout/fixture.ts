/**
 * Shared setup for the rollout and protect integration tests: an embedded cluster with RBAC enforced, ripple's
 * namespace and fingerprint key, a handler identity bound to exactly its rendered ClusterRole, event builders,
 * and a stdout capture for the "no Secret data in any log line" canary.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import type { V1Secret } from '@kubernetes/client-node';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE, type HandlerName } from '../../../core/constants.ts';
import { fingerprint } from '../../../core/fingerprint.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { observability, type Observability } from '../../../functions/runtime/middleware.ts';
import { parsePolicies } from '../../../core/policy/load.ts';
import type { RipplePolicy } from '../../../core/policy/schema.ts';
import { DETAIL_TYPES, EVENT_SOURCE } from '../../../core/constants.ts';
import type { ObjectChangeEvent, RippleEvent } from '../../../events/schema.ts';
import { applyRenderedRbac, handlerIdentity } from '../../support/rbac.ts';

export const FINGERPRINT_KEY = Buffer.from('integration-test-fingerprint-key');
export const CLUSTER = 'local';

export interface Env {
  cluster: EmbeddedCluster;
  admin: Kube;
  stop(): Promise<void>;
}

export async function startEnv(opts: { controllers?: boolean } = {}): Promise<Env> {
  const cluster = await startCluster({ controllers: opts.controllers ?? true });
  const admin = kubeFromKubeConfig(cluster.kubeConfig(), CLUSTER);
  await ensureNamespace(admin, RIPPLE_NAMESPACE);
  await admin.core.createNamespacedSecret({
    namespace: RIPPLE_NAMESPACE,
    body: { metadata: { name: FINGERPRINT_KEY_SECRET }, data: { key: FINGERPRINT_KEY.toString('base64') } },
  });
  return { cluster, admin, stop: () => cluster.stop() };
}

export async function ensureNamespace(admin: Kube, name: string, labels: Record<string, string> = {}): Promise<void> {
  try {
    await admin.core.createNamespace({ body: { metadata: { name, labels } } });
  } catch (err) {
    if ((err as Error).name !== 'ConflictError') throw err;
  }
}

/**
 * A Kube acting as the handler's identity (user `ripple-<handler>`, group `ripple:<handler>`), after applying
 * (as admin) exactly the RBAC objects rendered for that handler and these policies (its ClusterRole and its
 * bindings).
 */
export async function handlerKube(env: Env, handler: HandlerName, policies: RipplePolicy[]): Promise<Kube> {
  await applyRenderedRbac(env.admin, policies, handler);
  return kubeFromKubeConfig(env.cluster.kubeConfig(handlerIdentity(handler)), CLUSTER);
}

/**
 * What a deployed handler finds in its environment, for tests of the `handler` export: the handler's rendered
 * RBAC applied, a kubeconfig for its identity and the policy file (`policyFile`) in a fresh directory, and
 * RIPPLE_KUBECONFIG / RIPPLE_POLICY_DIR pointing at them.
 */
export async function handlerEnvironment(env: Env, handler: HandlerName, policyFile: string, policyYaml: string): Promise<void> {
  await handlerKube(env, handler, parsePolicies(policyYaml, 'entry.yaml'));
  const dir = mkdtempSync(join(tmpdir(), `ripple-${handler}-entry-`));
  writeFileSync(join(dir, 'kubeconfig'), env.cluster.kubeconfig(handlerIdentity(handler)));
  writeFileSync(join(dir, policyFile), policyYaml);
  process.env.RIPPLE_KUBECONFIG = join(dir, 'kubeconfig');
  process.env.RIPPLE_POLICY_DIR = dir;
}

export function fp(obj: { kind?: string; type?: string; data?: Record<string, string>; binaryData?: Record<string, string> }): string {
  return fingerprint(FINGERPRINT_KEY, obj);
}

let seq = 0;
/** The event the forwarder would send for `obj` (a hint: identity and fingerprints, never data). */
export function changeEvent(
  detailType: ObjectChangeEvent['detail-type'],
  obj: V1Secret & { kind?: string; binaryData?: Record<string, string> },
  kind: 'Secret' | 'ConfigMap',
  opts: { previousFingerprint?: string; changes?: ObjectChangeEvent['detail']['changes']; manager?: string; id?: string } = {},
): ObjectChangeEvent {
  const md = obj.metadata ?? {};
  return {
    version: '0',
    id: opts.id ?? `evt-${++seq}`,
    source: EVENT_SOURCE,
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    'detail-type': detailType,
    detail: {
      cluster: CLUSTER,
      apiVersion: 'v1',
      kind,
      namespace: md.namespace!,
      name: md.name!,
      uid: md.uid ?? 'uid',
      resourceVersion: md.resourceVersion ?? '1',
      labels: md.labels ?? {},
      annotations: {},
      ownerReferences: [],
      fingerprint: fp({ kind, type: obj.type, data: obj.data, binaryData: obj.binaryData }),
      ...(opts.previousFingerprint ? { previousFingerprint: opts.previousFingerprint } : {}),
      changes: opts.changes ?? (detailType === DETAIL_TYPES.updated ? ['data'] : []),
      ...(kind === 'Secret' && obj.type ? { type: obj.type } : {}),
      ...(opts.manager ? { manager: opts.manager } : {}),
      observedAt: new Date().toISOString(),
    },
  };
}

/** An SQS batch whose bodies are EventBridge events, as the rollout queue delivers them. */
export function sqsBatch(events: RippleEvent[] | object[]): SQSEvent {
  return {
    Records: events.map((e, i) => ({
      messageId: `msg-${++seq}-${i}`,
      receiptHandle: 'r',
      body: JSON.stringify(e),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'events.amazonaws.com', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ripple-rollout',
      awsRegion: 'us-east-1',
    })),
  };
}

/** Captures everything written to stdout and stderr (Powertools Logger and EMF metrics write there). */
export function captureStdout(): { text(): string; restore(): void } {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write.bind(s));
  streams.forEach((stream, i) => {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (originals[i] as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  });
  return {
    text: () => chunks.join(''),
    restore: () => streams.forEach((s, i) => void (s.write = originals[i] as typeof s.write)),
  };
}

/** Observability for a handler under test (real Powertools Logger + Metrics writing to stdout). */
export function testObservability(handler: string): () => Observability {
  const o = observability(`${handler}-test`);
  return () => o;
}

/** Poll until `fn` returns a value that is not undefined (or throw after `tries`). */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, tries = 200, delayMs = 50): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
