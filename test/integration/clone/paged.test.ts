/**
 * All namespaces, page by page: the clone handler reads the namespaces and the copies in pages (limit/continue)
 * and writes each page before it reads far ahead, so its memory holds a couple of pages whatever the cluster's
 * size (issue 15). Here the page is 7 namespaces over 40 selected ones plus some not selected, two policies
 * (a Secret and a ConfigMap, both named `shared`), RBAC enforced; requests and writes counted from the embedded
 * cluster's audit log.
 */
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

const N = 40;
const PAGE = 7;
const POLICIES = parsePolicies(
  `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: paged-secret }
spec:
  source: { kind: Secret, namespace: paged-base, name: shared }
  sync:
    namespaces: { selector: { matchLabels: { paged: "yes" } } }
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: paged-configmap }
spec:
  source: { kind: ConfigMap, namespace: paged-base, name: shared }
  sync:
    namespaces: { selector: { matchLabels: { paged: "yes" } } }
`,
  'paged.yaml',
);
// Selected and unselected namespaces interleaved in name order, so that pages mix both.
const selected = Array.from({ length: N }, (_, i) => `paged-${String(i).padStart(3, '0')}`);
const unselected = Array.from({ length: 10 }, (_, i) => `paged-${String(i * 4).padStart(3, '0')}-x`);
const b64 = (s: string) => Buffer.from(s).toString('base64');

let env: CloneEnv;

function handlerWith(wrap: (raw: RawApi) => RawApi = (r) => r, timeReserveMs = 1000) {
  const kube = kubeFromKubeConfig(env.cluster.kubeConfig(CLONE_IDENTITY), 'local');
  const wrapped = { ...kube, raw: wrap(kube.raw) };
  const obs = quietObservability();
  return makeHandler({ config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local', RIPPLE_WRITE_CONCURRENCY: '4' }), kubeFor: async () => wrapped, policies: () => POLICIES, observability: () => obs, timeReserveMs, pageSize: PAGE }) as unknown as (
    e: unknown,
    c: Context,
  ) => Promise<{ writes: number }>;
}

/** Successful writes of the clone identity since the last resetWrites(), per "verb resource namespace". */
function writesPer(): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of env.writes()) {
    if (e.user.username !== CLONE_USER || e.responseStatus.code >= 300) continue;
    const k = `${e.verb} ${e.objectRef!.resource} ${e.objectRef!.namespace}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

async function copies(value: string): Promise<{ secrets: string[]; configMaps: string[] }> {
  const s = await env.admin.core.listSecretForAllNamespaces({ fieldSelector: 'metadata.name=shared' });
  const c = await env.admin.core.listConfigMapForAllNamespaces({ fieldSelector: 'metadata.name=shared' });
  return {
    secrets: s.items.filter((o) => o.metadata!.namespace !== 'paged-base' && o.data?.v === b64(value)).map((o) => o.metadata!.namespace!).sort(),
    configMaps: c.items.filter((o) => o.metadata!.namespace !== 'paged-base' && o.data?.v === value).map((o) => o.metadata!.namespace!).sort(),
  };
}

async function updateBase(value: string): Promise<object> {
  const s = await env.admin.core.readNamespacedSecret({ namespace: 'paged-base', name: 'shared' });
  const updated = await env.admin.core.replaceNamespacedSecret({ namespace: 'paged-base', name: 'shared', body: { ...s, data: { v: b64(value) } } });
  const c = await env.admin.core.readNamespacedConfigMap({ namespace: 'paged-base', name: 'shared' });
  await env.admin.core.replaceNamespacedConfigMap({ namespace: 'paged-base', name: 'shared', body: { ...c, data: { v: value } } });
  return env.changeEvent('updated', { ...updated, kind: 'Secret', apiVersion: 'v1' });
}

beforeAll(async () => {
  env = await startCloneEnv(POLICIES);
  await env.admin.core.createNamespace({ body: { metadata: { name: 'paged-base' } } });
  await env.admin.core.createNamespacedSecret({ namespace: 'paged-base', body: { metadata: { name: 'shared' }, data: { v: b64('v0') } } });
  await env.admin.core.createNamespacedConfigMap({ namespace: 'paged-base', body: { metadata: { name: 'shared' }, data: { v: 'v0' } } });
  await pool([...selected, ...unselected], 16, async (ns) => {
    await env.admin.core.createNamespace({ body: { metadata: { name: ns, labels: selected.includes(ns) ? { paged: 'yes' } : {} } } });
  });
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

describe('clone over all namespaces, page by page', () => {
  it('creates every copy of both policies exactly once, reading namespaces in pages and writing each page before reading far ahead', async () => {
    // Prepare
    env.resetWrites();
    const mark = env.audit.length;

    // Act
    await handlerWith()(env.resyncEvent(), lambdaContext);

    // Assess: one create per selected namespace and policy, nothing elsewhere
    const per = writesPer();
    expect(per.size).toBe(2 * N);
    for (const ns of selected) {
      expect(per.get(`create secrets ${ns}`), ns).toBe(1);
      expect(per.get(`create configmaps ${ns}`), ns).toBe(1);
    }
    expect(await copies('v0')).toEqual({ secrets: selected, configMaps: selected });
    // Paged reads: every namespace list asks for PAGE items, and there are as many as the pages
    const mine = env.audit.slice(mark).filter((e) => e.user.username === CLONE_USER);
    const nsLists = mine.filter((e) => e.verb === 'list' && e.objectRef?.resource === 'namespaces');
    const total = (await env.admin.core.listNamespace()).items.length;
    expect(nsLists.length).toBe(Math.ceil(total / PAGE));
    expect(nsLists.every((e) => new URL(e.requestURI, 'http://x').searchParams.get('limit') === String(PAGE))).toBe(true);
    // Streaming, not read-everything-then-write: the first copy is written before the third namespace page is read
    const firstWrite = mine.findIndex((e) => e.verb === 'create');
    const thirdList = mine.indexOf(nsLists[2]!);
    expect(firstWrite).toBeGreaterThanOrEqual(0);
    expect(firstWrite).toBeLessThan(thirdList);
  });

  it('a base update writes each copy exactly once across the pages, none in an unselected namespace', async () => {
    // Prepare
    const event = await updateBase('v1');
    env.resetWrites();

    // Act
    await handlerWith()(event, lambdaContext);
    await handlerWith()(env.resyncEvent(), lambdaContext);

    // Assess: the Secret's copies updated once each (its event), the ConfigMap's by the resync, once each
    const per = writesPer();
    for (const ns of selected) {
      expect(per.get(`update secrets ${ns}`), ns).toBe(1);
      expect(per.get(`update configmaps ${ns}`), ns).toBe(1);
    }
    expect(per.size).toBe(2 * N);
    expect(await copies('v1')).toEqual({ secrets: selected, configMaps: selected });
  });

  it('when the time budget runs out mid-way it stops reading pages, fails as retryable, and the retry writes exactly the rest', async () => {
    // Prepare: writes slowed down so that the budget ends after a few pages
    const event = await updateBase('v2');
    env.resetWrites();
    const slow = (raw: RawApi): RawApi => ({
      watch: raw.watch,
      request: async (method, path, o) => {
        if (method !== 'GET') await new Promise((r) => setTimeout(r, 25));
        return raw.request(method, path, o);
      },
    });
    const budget = { ...lambdaContext, getRemainingTimeInMillis: () => 1000 + 150 } as Context;
    const mark = env.audit.length;

    // Act 1: 150 ms of budget
    await expect(handlerWith(slow)(event, budget)).rejects.toBeInstanceOf(RetryableError);
    const firstLists = env.audit.slice(mark).filter((e) => e.user.username === CLONE_USER && e.verb === 'list' && e.objectRef?.resource === 'namespaces').length;
    const first = [...writesPer().values()].reduce((a, b) => a + b, 0);
    // Act 2: the retry, then a resync for the ConfigMap copies
    await handlerWith()(event, lambdaContext);
    await handlerWith()(env.resyncEvent(), lambdaContext);

    // Assess: the first stopped early (not every page read), and every copy was written exactly once overall
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(N);
    const total = (await env.admin.core.listNamespace()).items.length;
    expect(firstLists).toBeLessThan(Math.ceil(total / PAGE));
    const per = writesPer();
    for (const ns of selected) {
      expect(per.get(`update secrets ${ns}`), ns).toBe(1);
      expect(per.get(`update configmaps ${ns}`), ns).toBe(1);
    }
    expect(await copies('v2')).toEqual({ secrets: selected, configMaps: selected });
  });
});
