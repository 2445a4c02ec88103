/**
 * Metadata-only answers (`Accept: ...;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`, client-go's metadata client):
 * every verb that answers with an object, over real HTTPS to the embedded cluster. The answer carries the stored
 * metadata (managedFields and resourceVersion included) and nothing else; lists are PartialObjectMetadataLists;
 * a Status passes through; an object asked as a list, or a list asked as an object, is 406; negotiation takes the
 * first acceptable Accept entry and skips the ones it cannot serve (docs/embedded-cluster.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterHarness, deployment, type ClusterHarness, type RawResponse } from '../../support/cluster.ts';

/** What client-go's metadata client sends for get, patch, delete and watch. */
const CLIENT_GO = 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
/** ... and for list. */
const CLIENT_GO_LIST = 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const POM = { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json' };
const POM_LIST = { Accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' };
const NOT_ACCEPTABLE = 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf';
/** base64 of the Secret values below: never in a metadata-only answer. */
const SECRET_VALUE = Buffer.from('top-secret-value').toString('base64');

let h: ClusterHarness;
let ns: string;

beforeAll(async () => {
  h = await clusterHarness({ bookmarkIntervalMs: 100 });
  ns = await h.namespace('pom');
});
afterAll(async () => {
  await h?.stop();
});

const secret = (name: string, value = 'top-secret-value') => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, labels: { app: 'pom' } }, data: { v: Buffer.from(value).toString('base64') } });
const secrets = () => `/api/v1/namespaces/${ns}/secrets`;
/** The object as stored (a plain GET). */
const stored = async (path: string) => (await h.raw('GET', path)).body;

/** A metadata-only answer of `kind`'s object: exactly kind, apiVersion and the stored metadata, in JSON. */
function expectPartial(r: RawResponse, metadata: unknown, version = 'v1'): void {
  expect(r.headers['content-type']).toBe('application/json');
  expect(Object.keys(r.body)).toEqual(['kind', 'apiVersion', 'metadata']);
  expect(r.body).toEqual({ kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata });
  expect(r.text).not.toContain(SECRET_VALUE);
}

/** The lines of a watch that ended (timeoutSeconds), parsed. */
async function watchLines(path: string, accept: string): Promise<{ r: RawResponse; events: any[] }> {
  const r = await h.raw('GET', path, undefined, { Accept: accept });
  return { r, events: r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('get and list', () => {
  it('get (client-go metadata client Accept): the stored metadata, managedFields and resourceVersion included, no data', async () => {
    // Prepare
    await h.raw('POST', secrets(), secret('get'));
    const full = await stored(`${secrets()}/get`);
    // Act
    const r = await h.raw('GET', `${secrets()}/get`, undefined, { Accept: CLIENT_GO });
    // Assess
    expect(r.code).toBe(200);
    expectPartial(r, full.metadata);
    expect(r.body.metadata.managedFields).toHaveLength(1);
    expect(r.body.metadata.resourceVersion).toBe(full.metadata.resourceVersion);
  });

  it('meta.k8s.io/v1beta1 is served too; pretty=true indents it', async () => {
    await h.raw('POST', secrets(), secret('beta'));
    const full = await stored(`${secrets()}/beta`);
    const r = await h.raw('GET', `${secrets()}/beta?pretty=true`, undefined, { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1' });
    expectPartial(r, full.metadata, 'v1beta1');
    expect(r.text).toMatch(/^\{\n {2}"kind": "PartialObjectMetadata",\n/);
  });

  it('list as PartialObjectMetadataList: ListMeta (resourceVersion, continue, remainingItemCount) and one PartialObjectMetadata per item', async () => {
    // Prepare
    for (const n of ['list-a', 'list-b', 'list-c']) await h.raw('POST', secrets(), secret(n));
    const full = await stored(`${secrets()}?labelSelector=app%3Dpom`);
    // Act
    const r = await h.raw('GET', `${secrets()}?labelSelector=app%3Dpom`, undefined, { Accept: CLIENT_GO_LIST });
    const page = await h.raw('GET', `${secrets()}?labelSelector=app%3Dpom&limit=1`, undefined, POM_LIST);
    // Assess
    expect(r.code).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toEqual({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: full.metadata.resourceVersion },
      items: full.items.map((o: any) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })),
    });
    expect(r.text).not.toContain(SECRET_VALUE);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.metadata.continue).toEqual(expect.any(String));
    expect(page.body.metadata.remainingItemCount).toBe(full.items.length - 1);
  });

  it('a list asked as PartialObjectMetadata, or an object as a PartialObjectMetadataList, is 406 naming the type', async () => {
    await h.raw('POST', secrets(), secret('mismatch'));
    const list = await h.raw('GET', secrets(), undefined, POM);
    expect(list.code).toBe(406);
    expect(list.body).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', message: 'you requested PartialObjectMetadata, but the requested object is a list (*core.SecretList)' });
    const one = await h.raw('GET', `${secrets()}/mismatch`, undefined, POM_LIST);
    expect(one.code).toBe(406);
    expect(one.body.message).toBe('you requested PartialObjectMetadataList, but the requested object is not a list (*core.Secret)');
    const deploys = await h.raw('GET', `/apis/apps/v1/namespaces/${ns}/deployments`, undefined, POM);
    expect(deploys.body.message).toBe('you requested PartialObjectMetadata, but the requested object is a list (*apps.DeploymentList)');
  });
});

describe('watch', () => {
  it('every event object is a PartialObjectMetadata (ADDED, MODIFIED, DELETED replayed from a resourceVersion), no data', async () => {
    // Prepare
    const from = (await stored(secrets())).metadata.resourceVersion;
    await h.raw('POST', secrets(), secret('watched'));
    const created = await stored(`${secrets()}/watched`);
    await h.raw('PATCH', `${secrets()}/watched`, { metadata: { labels: { changed: 'yes' } } }, { 'Content-Type': 'application/merge-patch+json' });
    const modified = await stored(`${secrets()}/watched`);
    await h.raw('DELETE', `${secrets()}/watched`);
    // Act
    const { r, events } = await watchLines(`${secrets()}?watch=true&resourceVersion=${from}&timeoutSeconds=1&fieldSelector=metadata.name%3Dwatched`, CLIENT_GO);
    // Assess
    expect(r.code).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(events[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: created.metadata });
    expect(events[1].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: modified.metadata });
    expect(events[2].object.kind).toBe('PartialObjectMetadata');
    expect(events[2].object.metadata.name).toBe('watched');
    expect(r.text).not.toContain(SECRET_VALUE);
  });

  it('initial events and bookmarks are PartialObjectMetadata too (the initial-events-end bookmark with its annotation)', async () => {
    await h.raw('POST', secrets(), secret('initial'));
    const { events } = await watchLines(`${secrets()}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1&fieldSelector=metadata.name%3Dinitial`, POM.Accept);
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'initial' } } });
    expect(events[0].object.data).toBeUndefined();
    expect(events[1]).toMatchObject({ type: 'BOOKMARK', object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    const bookmarks = events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThan(1);
    expect(bookmarks.every((e) => e.object.kind === 'PartialObjectMetadata' && e.object.metadata.resourceVersion)).toBe(true);
  });

  it('as=PartialObjectMetadataList cannot transform a watch event: the objects are sent whole, as kube-apiserver does', async () => {
    await h.raw('POST', secrets(), secret('watch-list'));
    const { events } = await watchLines(`${secrets()}?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dwatch-list`, POM_LIST.Accept);
    expect(events[0].object.kind).toBe('Secret');
    expect(events[0].object.data.v).toBe(SECRET_VALUE);
  });
});

describe('writes', () => {
  it('create: 201 with the created object metadata (its stored resourceVersion), no data', async () => {
    const r = await h.raw('POST', secrets(), secret('created'), POM);
    expect(r.code).toBe(201);
    const full = await stored(`${secrets()}/created`);
    expectPartial(r, full.metadata);
    expect(full.data.v).toBe(SECRET_VALUE);
  });

  it('update (PUT): the written metadata, the new resourceVersion', async () => {
    await h.raw('POST', secrets(), secret('updated'));
    const before = await stored(`${secrets()}/updated`);
    const r = await h.raw('PUT', `${secrets()}/updated`, { ...before, data: { v: SECRET_VALUE, w: SECRET_VALUE } }, POM);
    expect(r.code).toBe(200);
    const after = await stored(`${secrets()}/updated`);
    expect(after.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);
    expectPartial(r, after.metadata);
  });

  it('patch (merge, strategic, JSON) and server-side apply: the patched metadata', async () => {
    await h.raw('POST', secrets(), secret('patched'));
    const path = `${secrets()}/patched`;
    for (const [type, body] of [
      ['application/merge-patch+json', { metadata: { labels: { m: '1' } } }],
      ['application/strategic-merge-patch+json', { metadata: { labels: { s: '1' } } }],
      ['application/json-patch+json', [{ op: 'add', path: '/metadata/labels/j', value: '1' }]],
    ] as const) {
      const r = await h.raw('PATCH', path, body, { ...POM, 'Content-Type': type });
      expect(r.code, type).toBe(200);
      expectPartial(r, (await stored(path)).metadata);
    }
    const applied = await h.raw('PATCH', `${path}?fieldManager=pom-test&force=true`, JSON.stringify(secret('patched', 'applied')), { ...POM, 'Content-Type': 'application/apply-patch+yaml' });
    expect(applied.code).toBe(200);
    const full = await stored(path);
    expectPartial(applied, full.metadata);
    expect(applied.body.metadata.managedFields.map((f: any) => f.manager)).toContain('pom-test');
    const created = await h.raw('PATCH', `${secrets()}/apply-created?fieldManager=pom-test`, JSON.stringify(secret('apply-created')), { ...POM, 'Content-Type': 'application/apply-patch+yaml' });
    expect(created.code).toBe(201);
    expectPartial(created, (await stored(`${secrets()}/apply-created`)).metadata);
  });

  it('delete: the Status of a deleted object passes through; an object held by a finalizer, and a Namespace, answer their metadata', async () => {
    await h.raw('POST', secrets(), secret('deleted'));
    const gone = await h.raw('DELETE', `${secrets()}/deleted`, undefined, POM);
    expect(gone.code).toBe(200);
    expect(gone.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name: 'deleted', kind: 'secrets' } });
    await h.raw('POST', secrets(), { ...secret('held'), metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    const held = await h.raw('DELETE', `${secrets()}/held`, undefined, POM);
    const full = await stored(`${secrets()}/held`);
    expect(full.metadata.deletionTimestamp).toBeDefined();
    expectPartial(held, full.metadata);
    await h.raw('PATCH', `${secrets()}/held`, { metadata: { finalizers: null } }, { 'Content-Type': 'application/merge-patch+json' });
    const other = await h.namespace('pom-gone');
    const nsGone = await h.raw('DELETE', `/api/v1/namespaces/${other}`, undefined, POM);
    expect(nsGone.body).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: other } });
  });

  it('deletecollection: a PartialObjectMetadataList of the deleted objects', async () => {
    for (const n of ['dc-a', 'dc-b']) await h.raw('POST', secrets(), { ...secret(n), metadata: { name: n, labels: { dc: 'yes' } } });
    const r = await h.raw('DELETE', `${secrets()}?labelSelector=dc%3Dyes`, undefined, POM_LIST);
    expect(r.code).toBe(200);
    expect(r.body.kind).toBe('PartialObjectMetadataList');
    expect(r.body.items.map((o: any) => [o.kind, o.metadata.name])).toEqual([['PartialObjectMetadata', 'dc-a'], ['PartialObjectMetadata', 'dc-b']]);
    expect(r.text).not.toContain(SECRET_VALUE);
  });

  it('status subresource: get, update and patch answer the metadata; so does scale', async () => {
    // a Pod: nothing else writes its status here
    await h.raw('POST', `/api/v1/namespaces/${ns}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pom-pod' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    const path = `/api/v1/namespaces/${ns}/pods/pom-pod`;
    expectPartial(await h.raw('GET', `${path}/status`, undefined, POM), (await stored(path)).metadata);
    const cur = await stored(path);
    const put = await h.raw('PUT', `${path}/status`, { ...cur, status: { ...cur.status, message: 'put' } }, POM);
    expect(put.code).toBe(200);
    expectPartial(put, (await stored(path)).metadata);
    const patched = await h.raw('PATCH', `${path}/status`, { status: { message: 'patched' } }, { ...POM, 'Content-Type': 'application/merge-patch+json' });
    const after = await stored(path);
    expect(after.status.message).toBe('patched');
    expect(after.metadata.resourceVersion).not.toBe(cur.metadata.resourceVersion);
    expectPartial(patched, after.metadata);
    expect(patched.text).not.toContain('patched');
    await h.raw('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment('pom-dep'));
    const scale = await h.raw('GET', `/apis/apps/v1/namespaces/${ns}/deployments/pom-dep/scale`, undefined, POM);
    expect(scale.body).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'pom-dep', resourceVersion: expect.any(String) } });
    expect(scale.body.spec).toBeUndefined();
  });

  it('events.k8s.io: the converted object metadata (create, get, list), same storage as core Events', async () => {
    const path = `/apis/events.k8s.io/v1/namespaces/${ns}/events`;
    const ev = {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'pom-ev' }, eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'example.com/c', reportingInstance: 'i', action: 'Test', reason: 'Tested', note: 'a note', type: 'Normal',
      regarding: { kind: 'Secret', namespace: ns, name: 'get' },
    };
    const created = await h.raw('POST', path, ev, POM);
    expect(created.code).toBe(201);
    const full = await stored(`${path}/pom-ev`);
    expectPartial(created, full.metadata);
    expect(created.text).not.toContain('a note');
    expectPartial(await h.raw('GET', `${path}/pom-ev`, undefined, POM), full.metadata);
    const list = await h.raw('GET', path, undefined, POM_LIST);
    expect(list.body.items).toContainEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: full.metadata });
  });

  it('reviews answer their metadata too', async () => {
    const sar = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { nonResourceAttributes: { path: '/', verb: 'get' } } };
    const r = await h.raw('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', sar, POM);
    expect(r.code).toBe(201);
    expect(r.body).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { creationTimestamp: null } });
  });
});

describe('negotiation: the first acceptable Accept entry wins', () => {
  it.each([
    ['another group: skipped, the next entry (plain JSON) answers', 'application/json;as=PartialObjectMetadata;g=other.io;v=v1,application/json', 'Secret'],
    ['another version: skipped', 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2,application/json', 'Secret'],
    ['an unknown kind: skipped', 'application/json;as=ObjectMetadata;g=meta.k8s.io;v=v1,application/json', 'Secret'],
    ['plain JSON first', 'application/json,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', 'Secret'],
    ['a lower q last', 'application/json;q=0.5,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', 'PartialObjectMetadata'],
    ['metadata before a Table', 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=Table;g=meta.k8s.io;v=v1', 'PartialObjectMetadata'],
    ['a Table before metadata', 'application/json;as=Table;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', 'Table'],
    ['the protobuf entry (answered in JSON) when it is the only one', 'application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', 'PartialObjectMetadata'],
    ['*/* with the transformation', '*/*;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', 'PartialObjectMetadata'],
  ])('%s', async (_what, accept, kind) => {
    await h.raw('POST', secrets(), secret('negotiated'));
    const r = await h.raw('GET', `${secrets()}/negotiated`, undefined, { Accept: accept });
    expect(r.code).toBe(200);
    expect(r.body.kind).toBe(kind);
    if (kind === 'Secret') expect(r.body.data.v).toBe(SECRET_VALUE);
  });

  it('nothing acceptable (only a transformation the server refuses): 406 before the request runs', async () => {
    const accept = { Accept: 'application/json;as=PartialObjectMetadata;g=other.io;v=v1' };
    const get = await h.raw('GET', `${secrets()}/get`, undefined, accept);
    expect(get.code).toBe(406);
    expect(get.body).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', message: NOT_ACCEPTABLE });
    const create = await h.raw('POST', secrets(), secret('refused'), accept);
    expect(create.code).toBe(406);
    expect((await h.raw('GET', `${secrets()}/refused`)).code).toBe(404);
  });

  it('an object asked as a list on create: the 406 comes with the answer, after the write (as in kube-apiserver)', async () => {
    const r = await h.raw('POST', secrets(), secret('written-anyway'), POM_LIST);
    expect(r.code).toBe(406);
    expect(r.body.message).toBe('you requested PartialObjectMetadataList, but the requested object is not a list (*core.Secret)');
    expect((await h.raw('GET', `${secrets()}/written-anyway`)).code).toBe(200);
  });

  it('errors are Status objects whatever was asked', async () => {
    const r = await h.raw('GET', `${secrets()}/missing`, undefined, POM);
    expect(r.code).toBe(404);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });
});
