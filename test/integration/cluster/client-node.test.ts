/**
 * The embedded cluster driven by @kubernetes/client-node 2.x over HTTPS, as ripple's own code drives it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppsV1Api, CoreV1Api, makeInformer, PatchStrategy, setHeaderOptions, Watch,
  type KubeConfig, type V1Secret,
} from '@kubernetes/client-node';
import { get as httpsGet } from 'node:https';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';

let cluster: EmbeddedCluster;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  cluster = await startCluster({ bookmarkIntervalMs: 200 });
  kc = cluster.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});
afterAll(async () => {
  await cluster?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function apiError(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await p;
  } catch (err: any) {
    return { code: err.code, body: typeof err.body === 'string' ? JSON.parse(err.body) : err.body };
  }
  throw new Error('expected the call to fail');
}

async function until<T>(fn: () => T | Promise<T>, what: string, ms = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('CRUD', () => {
  it('creates, reads, updates, lists and deletes a Secret with server-set metadata', async () => {
    // Act
    const created = await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'crud', labels: { app: 'a' } }, stringData: { user: 'alice' }, data: { pw: b64('s3cret') } },
    });
    // Assess
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.data).toEqual({ pw: b64('s3cret'), user: b64('alice') });
    expect(created.stringData).toBeUndefined();
    expect(created.type).toBe('Opaque');
    expect(created.metadata?.managedFields?.[0]).toMatchObject({ operation: 'Update', fieldsType: 'FieldsV1' });

    const read = await core.readNamespacedSecret({ name: 'crud', namespace: 'default' });
    read.data = { ...read.data, extra: b64('x') };
    const updated = await core.replaceNamespacedSecret({ name: 'crud', namespace: 'default', body: read });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);

    const list = await core.listNamespacedSecret({ namespace: 'default', labelSelector: 'app in (a,b)' });
    expect(list.items.map((s) => s.metadata?.name)).toEqual(['crud']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(updated.metadata?.resourceVersion));
    expect((await core.listNamespacedSecret({ namespace: 'default', labelSelector: 'app!=a' })).items).toEqual([]);
    expect((await core.listSecretForAllNamespaces({ fieldSelector: 'metadata.name=crud,type=Opaque' })).items).toHaveLength(1);

    await core.deleteNamespacedSecret({ name: 'crud', namespace: 'default' });
    const gone = await apiError(core.readNamespacedSecret({ name: 'crud', namespace: 'default' }));
    expect(gone.code).toBe(404);
    expect(gone.body).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'secrets "crud" not found', details: { name: 'crud', kind: 'secrets' } });
  });

  it('answers 409 AlreadyExists, 409 Conflict on a stale resourceVersion, and 404 for a missing namespace', async () => {
    const s = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'cc' }, data: { a: b64('1') } } });
    const dup = await apiError(core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'cc' } } }));
    expect(dup).toMatchObject({ code: 409, body: { reason: 'AlreadyExists', message: 'secrets "cc" already exists' } });

    await core.replaceNamespacedSecret({ name: 'cc', namespace: 'default', body: { ...s, data: { a: b64('2') } } });
    const stale = await apiError(core.replaceNamespacedSecret({ name: 'cc', namespace: 'default', body: { ...s, data: { a: b64('3') } } }));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on secrets "cc": the object has been modified; please apply your changes to the latest version and try again',
    });

    const missing = await apiError(core.createNamespacedConfigMap({ namespace: 'nowhere', body: { metadata: { name: 'x' } } }));
    expect(missing).toMatchObject({ code: 404, body: { reason: 'NotFound', message: 'namespaces "nowhere" not found' } });
  });

  it.each([
    ['a DNS-1123-invalid name', { metadata: { name: 'Bad_Name' } }, 422, 'metadata.name'],
    ['a data key with a space', { metadata: { name: 'badkey' }, data: { 'a b': b64('x') } }, 422, 'data[a b]'],
  ])('rejects %s with 422 Invalid naming the field', async (_what, body, code, field) => {
    const err = await apiError(core.createNamespacedSecret({ namespace: 'default', body: body as V1Secret }));
    expect(err.code).toBe(code);
    expect(err.body.reason).toBe('Invalid');
    expect(err.body.details.causes.map((c: any) => c.field)).toContain(field);
  });

  it('rejects Secret data that is not base64 as the real decoder does (400)', async () => {
    const err = await apiError(core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'nb64' }, data: { a: 'not base64!' } } }));
    expect(err.code).toBe(400);
    expect(err.body.message).toBe('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3');
  });

  it('refuses changes to the data of an immutable Secret', async () => {
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'frozen' }, immutable: true, data: { a: b64('1') } } });
    const err = await apiError(core.patchNamespacedSecret({ name: 'frozen', namespace: 'default', body: { data: { a: b64('2') } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    expect(err.code).toBe(422);
    expect(err.body.message).toBe('Secret "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set');
  });
});

describe('patch', () => {
  it('applies JSON patch, merge patch and strategic merge patch (containers merged by name)', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'patchme' },
        spec: {
          selector: { matchLabels: { app: 'p' } },
          template: { metadata: { labels: { app: 'p' } }, spec: { containers: [{ name: 'a', image: 'img:1', env: [{ name: 'X', value: '1' }] }, { name: 'b', image: 'img:1' }] } },
        },
      },
    });
    const opts = (t: string) => setHeaderOptions('Content-Type', t);
    // strategic: only container "a" is named; "b" stays, env merges by name
    let d = await apps.patchNamespacedDeployment({ name: 'patchme', namespace: 'default', body: { spec: { template: { spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }] } } } } }, opts(PatchStrategy.StrategicMergePatch));
    expect(d.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['a', 'b']);
    expect(d.spec?.template.spec?.containers[0].env).toEqual([{ name: 'X', value: '1' }, { name: 'Y', value: '2' }]);
    expect(d.metadata?.generation).toBe(2);
    // merge: lists are replaced
    d = await apps.patchNamespacedDeployment({ name: 'patchme', namespace: 'default', body: { metadata: { labels: { team: 'x' } } } }, opts(PatchStrategy.MergePatch));
    expect(d.metadata?.labels).toEqual({ team: 'x' });
    expect(d.metadata?.generation).toBe(2);
    // json patch
    d = await apps.patchNamespacedDeployment({ name: 'patchme', namespace: 'default', body: [{ op: 'replace', path: '/spec/replicas', value: 3 }] }, opts(PatchStrategy.JsonPatch));
    expect(d.spec?.replicas).toBe(3);
    const failed = await apiError(apps.patchNamespacedDeployment({ name: 'patchme', namespace: 'default', body: [{ op: 'test', path: '/spec/replicas', value: 9 }] }, opts(PatchStrategy.JsonPatch)));
    expect(failed.code).toBe(422);
    // server-side apply: a configuration without apiVersion/kind is refused (server-side-apply.test.ts covers the rest)
    const ssa = await apiError(apps.patchNamespacedDeployment({ name: 'patchme', namespace: 'default', body: { spec: {} }, fieldManager: 't' }, opts(PatchStrategy.ServerSideApply)));
    expect(ssa).toMatchObject({ code: 400, body: { reason: 'BadRequest', message: 'Incorrect version specified in apply patch. Specified patch version: , expected: apps/v1' } });
  });
});

describe('watch', () => {
  it('streams changes after a list resourceVersion, with BOOKMARKs, and ends on timeoutSeconds', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const events: { type: string; name?: string; rv?: string }[] = [];
    let ended = false;
    await new Watch(kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 2 },
      (type, obj) => events.push({ type, name: obj?.metadata?.name, rv: obj?.metadata?.resourceVersion }),
      () => { ended = true; });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w1' }, data: { a: '1' } } });
    await core.patchNamespacedConfigMap({ name: 'w1', namespace: 'default', body: { data: { a: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await core.deleteNamespacedConfigMap({ name: 'w1', namespace: 'default' });
    await until(() => events.some((e) => e.type === 'BOOKMARK'), 'a bookmark');
    await until(() => ended, 'the watch to end after timeoutSeconds');
    expect(events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
    const rvs = events.map((e) => Number(e.rv));
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
  });

  it('filters by label selector: an object leaving the selector is DELETED, one entering it ADDED', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const events: string[] = [];
    const ctl = await new Watch(kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'tier=web' },
      (type, obj) => events.push(`${type} ${obj.metadata.name} ${obj.metadata.labels?.tier ?? '-'}`), () => {});
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'sel', labels: { tier: 'web' } } } });
    await core.patchNamespacedConfigMap({ name: 'sel', namespace: 'default', body: { metadata: { labels: { tier: 'db' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'other', labels: { tier: 'db' } } } });
    await core.patchNamespacedConfigMap({ name: 'sel', namespace: 'default', body: { metadata: { labels: { tier: 'web' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await until(() => events.length >= 3, 'three events');
    ctl.abort();
    expect(events).toEqual(['ADDED sel web', 'DELETED sel db', 'ADDED sel web']);
  });

  it('replays from an older resourceVersion and answers 410 Expired once history is compacted; the informer re-lists', async () => {
    const informer = makeInformer(kc, '/api/v1/namespaces/default/secrets', () => core.listNamespacedSecret({ namespace: 'default' }));
    const seen = new Set<string>();
    const errors: unknown[] = [];
    informer.on('add', (o) => seen.add(o.metadata!.name!));
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'inf-1' } } });
    await until(() => seen.has('inf-1'), 'the informer to see inf-1');

    // replay: a watch from an old rv gets the later changes
    const before = (await core.listNamespacedSecret({ namespace: 'default' })).metadata!.resourceVersion!;
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'inf-2' } } });
    const replayed: string[] = [];
    const ctl = await new Watch(kc).watch('/api/v1/namespaces/default/secrets', { resourceVersion: before }, (t, o) => replayed.push(`${t} ${o.metadata.name}`), () => {});
    await until(() => replayed.includes('ADDED inf-2'), 'the replayed ADDED');
    ctl.abort();

    // compaction: the old rv is gone
    cluster.compact();
    const expired: any[] = [];
    let done = false;
    await new Watch(kc).watch('/api/v1/namespaces/default/secrets', { resourceVersion: before }, (t, o) => expired.push({ t, o }), () => { done = true; });
    await until(() => done, 'the expired watch to end');
    expect(expired[0]).toMatchObject({ t: 'ERROR', o: { kind: 'Status', code: 410, reason: 'Expired' } });

    // the informer survives (it re-lists on 410) and keeps delivering
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'inf-3' } } });
    await until(() => seen.has('inf-3'), 'the informer to see inf-3 after compaction');
    await informer.stop();
    expect(errors).toEqual([]);
  });
});

describe('authentication', () => {
  const get = (path: string, headers: Record<string, string> = {}) => new Promise<{ code: number; body: any }>((resolve, reject) => {
    const u = new URL(cluster.url);
    httpsGet({ host: u.hostname, port: u.port, path, ca: cluster.caCert, headers }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(text) }));
    }).on('error', reject);
  });

  it.each([
    ['no credentials may read /version (anonymous, as kube-apiserver)', '/version', {}, 200, undefined],
    ['no credentials cannot list secrets', '/api/v1/secrets', {}, 403, 'secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group "" at the cluster scope'],
    ['an unknown token is 401', '/version', { Authorization: 'Bearer nope' }, 401, 'Unauthorized'],
  ])('%s', async (_name, path, headers, code, message) => {
    const r = await get(path, headers);
    expect(r.code).toBe(code);
    if (message) expect(r.body.message).toBe(message);
  });
});

describe('namespaces', () => {
  it('terminate: contents are deleted, creates are refused with 403, then the namespace is removed', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    await core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 'plain' } } });

    const ns = await core.deleteNamespace({ name: 'doomed' }) as any;
    expect(ns.status?.phase).toBe('Terminating');
    await until(async () => (await core.listNamespacedSecret({ namespace: 'doomed' })).items.length === 0, 'the secret to be deleted');
    const held = await core.readNamespacedConfigMap({ name: 'held', namespace: 'doomed' });
    expect(held.metadata?.deletionTimestamp).toBeDefined();

    const refused = await apiError(core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 'late' } } }));
    expect(refused.code).toBe(403);
    expect(refused.body.message).toBe('secrets "late" is forbidden: unable to create new content in namespace doomed because it is being terminated');

    await core.patchNamespacedConfigMap({ name: 'held', namespace: 'doomed', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await until(async () => (await apiError(core.readNamespace({ name: 'doomed' }))).code === 404, 'the namespace to be removed');
  });

  it('starts with the default namespaces', async () => {
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public', 'kube-node-lease']));
  });
});
