/**
 * Work bounded per invocation, and a dead invocation mid-way: the clone handler (as the clone identity, RBAC
 * enforced) fans a base update out to N namespaces.
 * - An invocation whose time budget (remaining time - reserve) runs out starts no new write and fails as
 *   retryable; the retry, level-based, writes exactly the copies still out of date.
 * - An invocation killed mid-way (its last writes reach the API server but their answers never come back, and
 *   it never returns) is followed by a fresh one (Lambda's retry): every copy ends equal to the base, and no copy
 *   is written twice across both.
 * Writes are counted from the embedded cluster's audit log.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/clone/handler.ts';
import { RetryableError } from '../../../core/errors.ts';
import type { RawApi } from '../../../functions/runtime/kube.ts';
import { kubeFromKubeConfig } from '../../../kube/kubeconfig.ts';
import { pool } from '../../../functions/runtime/pool.ts';
import { parsePolicies } from '../../../core/policy/load.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { CLONE_IDENTITY, CLONE_USER, lambdaContext, quietObservability, startCloneEnv, type CloneEnv } from './harness.ts';

const N = 120;
const POLICIES = parsePolicies(
  `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: bounded }
spec:
  source: { kind: Secret, namespace: bounded-base, name: cfg }
  sync:
    namespaces: { selector: { matchLabels: { bounded: "yes" } } }
`,
  'bounded.yaml',
);
const names = Array.from({ length: N }, (_, i) => `bounded-${String(i).padStart(3, '0')}`);
const b64 = (s: string) => Buffer.from(s).toString('base64');

let env: CloneEnv;

/** Time reserve of the handlers here: the budget is the context's remaining time minus this. */
const RESERVE_MS = 1000;

/** The clone handler over `raw` (writes go through it). */
function handlerWith(wrap: (raw: RawApi) => RawApi) {
  const kube = kubeFromKubeConfig(env.cluster.kubeConfig(CLONE_IDENTITY), 'local');
  const wrapped = { ...kube, raw: wrap(kube.raw) };
  const obs = quietObservability();
  return makeHandler({ config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local', RIPPLE_WRITE_CONCURRENCY: '8' }), kubeFor: async () => wrapped, policies: () => POLICIES, observability: () => obs, timeReserveMs: RESERVE_MS }) as unknown as (e: unknown, c: Context) => Promise<{ writes: number }>;
}

/** Writes slowed down (as against a busy API server) so that a small budget ends mid-way. */
const slowWrites = (ms: number) => (raw: RawApi): RawApi => ({
  watch: raw.watch,
  request: async (method, path, o) => {
    if (method !== 'GET') await new Promise((r) => setTimeout(r, ms));
    return raw.request(method, path, o);
  },
});

/** A context with `ms` of budget left before the reserve (middy aborts at the real timeout, well after). */
const withBudget = (ms: number) => ({ ...lambdaContext, getRemainingTimeInMillis: () => ms + RESERVE_MS }) as Context;

async function updateBase(value: string): Promise<V1Secret> {
  const s = await env.admin.core.readNamespacedSecret({ namespace: 'bounded-base', name: 'cfg' });
  return env.admin.core.replaceNamespacedSecret({ namespace: 'bounded-base', name: 'cfg', body: { ...s, data: { v: b64(value) } } });
}

/** Update writes per copy namespace since the last resetWrites(). */
function updatesPerNamespace(): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of env.writes()) if (e.user.username === CLONE_USER && e.verb === 'update' && e.responseStatus.code < 300) m.set(e.objectRef!.namespace!, (m.get(e.objectRef!.namespace!) ?? 0) + 1);
  return m;
}

async function copiesEqualBase(value: string): Promise<number> {
  const list = await env.admin.core.listSecretForAllNamespaces({ fieldSelector: 'metadata.name=cfg' });
  return list.items.filter((s) => s.metadata!.namespace !== 'bounded-base' && s.data?.v === b64(value)).length;
}

beforeAll(async () => {
  env = await startCloneEnv(POLICIES);
  await env.admin.core.createNamespace({ body: { metadata: { name: 'bounded-base' } } });
  await env.admin.core.createNamespacedSecret({ namespace: 'bounded-base', body: { metadata: { name: 'cfg' }, data: { v: b64('v0') } } });
  await pool(names, 16, async (ns) => void (await env.admin.core.createNamespace({ body: { metadata: { name: ns, labels: { bounded: 'yes' } } } })));
  await handlerWith((r) => r)(env.resyncEvent(), lambdaContext);
  expect(await copiesEqualBase('v0')).toBe(N);
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

describe('clone: work bounded per invocation', () => {
  it('stops starting writes when its time budget is spent, fails as retryable, and the retry writes exactly the rest', async () => {
    // Prepare
    const updated = await updateBase('v1');
    env.resetWrites();
    const event = env.changeEvent('updated', { ...updated, kind: 'Secret', apiVersion: 'v1' });

    // Act 1: 200 ms of budget, writes taking 20 ms each, 8 at a time: about 80 of the 120 fit
    await expect(handlerWith(slowWrites(20))(event, withBudget(200))).rejects.toBeInstanceOf(RetryableError);
    const first = [...updatesPerNamespace().values()].reduce((a, b) => a + b, 0);
    // Act 2: the retry (Lambda's asynchronous retry of the same event)
    await handlerWith((r) => r)(event, lambdaContext);

    // Assess: part written by the first, the rest by the second, each copy exactly once
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(N);
    const per = updatesPerNamespace();
    expect(per.size).toBe(N);
    expect([...per.values()].every((n) => n === 1)).toBe(true);
    expect(await copiesEqualBase('v1')).toBe(N);
  });

  it('an invocation killed mid-way, then its retry: every copy converges, none is written twice', async () => {
    // Prepare: the first invocation dies after 40 writes: the last of them reach the API server but their
    // answers never come back, and nothing it sends after that is answered (a frozen or killed process).
    const updated = await updateBase('v2');
    env.resetWrites();
    const event = env.changeEvent('updated', { ...updated, kind: 'Secret', apiVersion: 'v1' });
    let writes = 0;
    let landed = 0;
    const never = new Promise<never>(() => {});
    const dying = (raw: RawApi): RawApi => ({
      watch: raw.watch,
      request: async (method, path, o) => {
        if (method === 'GET' || writes >= 40) return writes >= 40 ? never : raw.request(method, path, o);
        const mine = ++writes;
        const answer = await raw.request<never>(method, path, o);
        landed++;
        // The last 8 (one per writer in flight) land but are never answered.
        return mine <= 32 ? answer : never;
      },
    });

    // Act: the dying invocation is never awaited (it never returns); the retry runs once its writes have landed.
    void handlerWith(dying)(event, lambdaContext);
    for (let i = 0; i < 200 && landed < 40; i++) await new Promise((r) => setTimeout(r, 25));
    expect(landed).toBe(40);
    await handlerWith((r) => r)(event, lambdaContext);

    // Assess
    const per = updatesPerNamespace();
    expect(per.size).toBe(N);
    expect([...per.values()].every((n) => n === 1)).toBe(true);
    expect(await copiesEqualBase('v2')).toBe(N);
  });
});
