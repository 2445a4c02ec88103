/**
 * A paged list that outlives the API server's snapshot: on a busy cluster the storage compacts while the clone
 * is still paging (etcd compacts every 5 min on EKS; the embedded cluster here keeps only the last 20 changes),
 * and the next page's continue token answers 410 Expired. The clone then goes on after the last key it listed,
 * as things are now (the Status's inconsistent continue token, kube-apiserver's remedy), and whole lists fall back
 * to one full list as client-go's pager does. Found by the 10,000-namespace bench once rollouts ran alongside
 * the clone: the clone failed permanently half-way ("list namespaces: expired").
 * Here every write of the clone is followed by other writes to the cluster, so each page's token has expired by
 * the time it is used; writes and 410s counted from the audit log, RBAC enforced.
 */
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/clone/handler.ts';
import type { RawApi } from '../../../functions/runtime/kube.ts';
import { kubeFromKubeConfig } from '../../../kube/kubeconfig.ts';
import { listAll, listAllRaw } from '../../../kube/paging.ts';
import { pool } from '../../../functions/runtime/pool.ts';
import { parsePolicies } from '../../../core/policy/load.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { CLONE_IDENTITY, CLONE_USER, lambdaContext, quietObservability, startCloneEnv, type CloneEnv } from './harness.ts';

const N = 30;
const PAGE = 4;
const HISTORY = 20;
const POLICIES = parsePolicies(
  `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: churn }
spec:
  source: { kind: Secret, namespace: churn-base, name: shared }
  sync:
    namespaces: { selector: { matchLabels: { churn: "yes" } } }
`,
  'churn.yaml',
);
const selected = Array.from({ length: N }, (_, i) => `churn-${String(i).padStart(3, '0')}`);
const b64 = (s: string) => Buffer.from(s).toString('base64');

let env: CloneEnv;
let churned = 0;

/** Someone else writing to the cluster: enough changes to compact away any continue token issued before. */
async function churn(): Promise<void> {
  for (let i = 0; i < HISTORY; i++) {
    await env.admin.core.replaceNamespacedConfigMap({ namespace: 'churn-other', name: 'busy', body: { metadata: { name: 'busy' }, data: { n: String(++churned) } } });
  }
}

/** The clone handler as its identity; after each of its writes, the cluster churns. */
function churningHandler() {
  const kube = kubeFromKubeConfig(env.cluster.kubeConfig(CLONE_IDENTITY), 'local');
  const raw: RawApi = {
    watch: kube.raw.watch,
    request: async (method, path, o) => {
      const r = await kube.raw.request(method, path, o);
      if (method !== 'GET') await churn();
      return r as never;
    },
  };
  const obs = quietObservability();
  return makeHandler({ config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local', RIPPLE_WRITE_CONCURRENCY: '1' }), kubeFor: async () => ({ ...kube, raw }), policies: () => POLICIES, observability: () => obs, pageSize: PAGE }) as unknown as (
    e: unknown,
    c: Context,
  ) => Promise<{ writes: number }>;
}

/** The clone identity's successful writes since the last resetWrites(), per "verb namespace". */
function writesPer(): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of env.writes()) {
    if (e.user.username !== CLONE_USER || e.responseStatus.code >= 300) continue;
    const k = `${e.verb} ${e.objectRef!.namespace}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** The clone identity's lists of `resource` answered 410 since audit record `mark`. */
const expiredLists = (mark: number, resource: string) =>
  env.audit.slice(mark).filter((e) => e.user.username === CLONE_USER && e.verb === 'list' && e.objectRef?.resource === resource && e.responseStatus.code === 410).length;

async function copiesWith(value: string): Promise<string[]> {
  const s = await env.admin.core.listSecretForAllNamespaces({ fieldSelector: 'metadata.name=shared' });
  return s.items.filter((o) => o.metadata!.namespace !== 'churn-base' && o.data?.v === b64(value)).map((o) => o.metadata!.namespace!).sort();
}

beforeAll(async () => {
  env = await startCloneEnv(POLICIES, { watchHistory: HISTORY });
  for (const ns of ['churn-base', 'churn-other']) await env.admin.core.createNamespace({ body: { metadata: { name: ns } } });
  await env.admin.core.createNamespacedSecret({ namespace: 'churn-base', body: { metadata: { name: 'shared' }, data: { v: b64('v0') } } });
  await env.admin.core.createNamespacedConfigMap({ namespace: 'churn-other', body: { metadata: { name: 'busy' }, data: { n: '0' } } });
  await pool(selected, 8, async (ns) => void (await env.admin.core.createNamespace({ body: { metadata: { name: ns, labels: { churn: 'yes' } } } })));
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

describe('paged lists that outlive the snapshot', () => {
  it('the clone of all namespaces goes on after the last namespace listed: every copy created exactly once', async () => {
    // Prepare
    env.resetWrites();
    const mark = env.audit.length;

    // Act
    await churningHandler()(env.resyncEvent(), lambdaContext);

    // Assess: the namespace pages expired on the way (the path was taken), and nothing was missed or doubled
    expect(expiredLists(mark, 'namespaces')).toBeGreaterThan(0);
    const per = writesPer();
    for (const ns of selected) expect(per.get(`create ${ns}`), ns).toBe(1);
    expect(per.size).toBe(N);
    expect(await copiesWith('v0')).toEqual(selected);
  });

  it('a base update reads the copies page by page through expiries too: each copy updated exactly once', async () => {
    // Prepare
    const s = await env.admin.core.readNamespacedSecret({ namespace: 'churn-base', name: 'shared' });
    const updated = await env.admin.core.replaceNamespacedSecret({ namespace: 'churn-base', name: 'shared', body: { ...s, data: { v: b64('v1') } } });
    env.resetWrites();
    const mark = env.audit.length;

    // Act
    await churningHandler()(env.changeEvent('updated', { ...updated, kind: 'Secret', apiVersion: 'v1' }), lambdaContext);

    // Assess
    expect(expiredLists(mark, 'secrets')).toBeGreaterThan(0);
    const per = writesPer();
    for (const ns of selected) expect(per.get(`update ${ns}`), ns).toBe(1);
    expect(per.size).toBe(N);
    expect(await copiesWith('v1')).toEqual(selected);
  });

  it('a whole list (listAll, listAllRaw) falls back to one full list, as client-go does: each item once', async () => {
    // Prepare: pages of 3, and the cluster churns before every page after the first
    const kube = kubeFromKubeConfig(env.cluster.kubeConfig(CLONE_IDENTITY), 'local');
    const mark = env.audit.length;
    let pages = 0;

    // Act
    const typed = await listAll(async (p) => {
      if (pages++) await churn();
      return kube.core.listNamespace(p);
    }, 3);
    const rawApi: RawApi = {
      watch: kube.raw.watch,
      request: async (method, path, o) => {
        if (o?.query && 'continue' in o.query) await churn();
        return kube.raw.request(method, path, o) as never;
      },
    };
    const raw = await listAllRaw<{ metadata: { name: string } }>(rawApi, '/api/v1/namespaces', { verb: 'list', resource: 'namespaces' }, { size: 3 });

    // Assess: both expired, then listed everything once, in one answer without limit
    const all = (await env.admin.core.listNamespace()).items.map((n) => n.metadata!.name!).sort();
    expect(typed.map((n) => n.metadata!.name!).sort()).toEqual(all);
    expect(raw.map((n) => n.metadata.name).sort()).toEqual(all);
    const lists = env.audit.slice(mark).filter((e) => e.user.username === CLONE_USER && e.objectRef?.resource === 'namespaces');
    expect(lists.filter((e) => e.responseStatus.code === 410)).toHaveLength(2);
    // limit absent or 0: no limit
    expect(lists.filter((e) => e.responseStatus.code === 200 && Number(new URL(e.requestURI, 'http://x').searchParams.get('limit') ?? 0) === 0)).toHaveLength(2);
  });
});
