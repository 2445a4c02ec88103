/**
 * Every request option the embedded API server reads, verb by verb (docs/embedded-cluster.md, "Request options"):
 * honoured as kube-apiserver honours it, or refused with an error naming it — never dropped. DeleteOptions:
 * delete-options.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Watch } from '@kubernetes/client-node';
import { clusterHarness, deployment, eventually, hasKubectl, type ClusterHarness } from '../../support/cluster.ts';

let h: ClusterHarness;
let ns: string;

beforeAll(async () => {
  h = await clusterHarness({ bookmarkIntervalMs: 100 });
  ns = await h.namespace('opts');
});
afterAll(async () => {
  await h?.stop();
});

const cm = (name: string, data: Record<string, string> = { a: '1' }, labels: Record<string, string> = {}) =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data });

/** The lines of a watch response that ended (timeoutSeconds), parsed. */
async function watchLines(path: string): Promise<{ code: number; events: any[]; body: any }> {
  const r = await h.raw('GET', path);
  if (r.code !== 200) return { code: r.code, events: [], body: r.body };
  return { code: r.code, events: r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l)), body: null };
}

describe('dryRun (create, update, patch; delete: delete-options.test.ts)', () => {
  it('dryRun=All on create, update, patch and apply answers the object and writes nothing', async () => {
    const base = `/api/v1/namespaces/${ns}/configmaps`;
    const created = await h.raw('POST', `${base}?dryRun=All`, cm('dry'));
    expect(created.code).toBe(201);
    expect(created.body.metadata.uid).toBeDefined();
    expect((await h.raw('GET', `${base}/dry`)).code).toBe(404);
    await h.core.createNamespacedConfigMap({ namespace: ns, body: cm('dry') });
    const rv = (await h.core.readNamespacedConfigMap({ name: 'dry', namespace: ns })).metadata!.resourceVersion;
    expect((await h.raw('PUT', `${base}/dry?dryRun=All`, cm('dry', { a: '2' }))).body.data).toEqual({ a: '2' });
    expect((await h.raw('PATCH', `${base}/dry?dryRun=All`, { data: { a: '3' } }, { 'Content-Type': 'application/merge-patch+json' })).body.data).toEqual({ a: '3' });
    expect((await h.raw('PATCH', `${base}/dry?dryRun=All&fieldManager=m&force=true`, cm('dry', { a: '4' }), { 'Content-Type': 'application/apply-patch+yaml' })).body.data).toEqual({ a: '4' });
    const after = await h.core.readNamespacedConfigMap({ name: 'dry', namespace: ns });
    expect(after.data).toEqual({ a: '1' });
    expect(after.metadata?.resourceVersion).toBe(rv);
  });

  it.each([
    ['POST', '', 'CreateOptions'],
    ['PUT', '/dry-bad', 'UpdateOptions'],
    ['PATCH', '/dry-bad', 'PatchOptions'],
  ])('%s with an unknown dryRun value is 422 naming it (%s) and writes nothing', async (method, suffix, kind) => {
    await h.core.createNamespacedConfigMap({ namespace: ns, body: cm('dry-bad') }).catch(() => undefined);
    const body = method === 'PATCH' ? { data: { a: 'x' } } : cm('dry-bad', { a: 'x' });
    const r = await h.raw(method, `/api/v1/namespaces/${ns}/configmaps${suffix}?dryRun=yes`, body, method === 'PATCH' ? { 'Content-Type': 'application/merge-patch+json' } : {});
    expect(r.code).toBe(422);
    expect(r.body.message).toBe(`${kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"yes"}: supported values: "All"`);
    expect((await h.core.readNamespacedConfigMap({ name: 'dry-bad', namespace: ns })).data).toEqual({ a: '1' });
  });

  it.skipIf(!hasKubectl)('kubectl create/replace/patch/label/apply --dry-run=server write nothing', async () => {
    await h.kubectl(['create', 'configmap', 'kdry', '-n', ns, '--from-literal=a=1']);
    for (const args of [
      ['create', 'configmap', 'kdry2', '--from-literal=a=1'],
      ['patch', 'configmap', 'kdry', '-p', '{"data":{"a":"2"}}'],
      ['label', 'configmap', 'kdry', 'x=y'],
      ['annotate', 'configmap', 'kdry', 'x=y'],
      ['delete', 'configmap', 'kdry'],
    ]) {
      const r = await h.kubectl([...args, '-n', ns, '--dry-run=server']);
      expect(r.code, r.out).toBe(0);
    }
    const apply = await h.kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-n', ns, '-f', '-'], JSON.stringify(cm('kdry', { a: '9' })));
    expect(apply.code, apply.out).toBe(0);
    const after = await h.core.readNamespacedConfigMap({ name: 'kdry', namespace: ns });
    expect(after.data).toEqual({ a: '1' });
    expect(after.metadata?.labels).toBeUndefined();
    expect((await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps/kdry2`)).code).toBe(404);
  });
});

describe('fieldManager, fieldValidation, force (create, update, patch)', () => {
  it('fieldManager names the managedFields entry; over 128 bytes or unprintable it is 422', async () => {
    const r = await h.raw('POST', `/api/v1/namespaces/${ns}/configmaps?fieldManager=team-a`, cm('fm'));
    expect(r.body.metadata.managedFields[0].manager).toBe('team-a');
    const long = await h.raw('POST', `/api/v1/namespaces/${ns}/configmaps?fieldManager=${'m'.repeat(129)}`, cm('fm2'));
    expect(long.code).toBe(422);
    expect(long.body.message).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes');
    const ctl = await h.raw('PUT', `/api/v1/namespaces/${ns}/configmaps/fm?fieldManager=a%07b`, cm('fm'));
    expect(ctl.code).toBe(422);
    expect(ctl.body.message).toBe('UpdateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\u0007b": invalid character U+0007 (at position 1)');
    const apply = await h.raw('PATCH', `/api/v1/namespaces/${ns}/configmaps/fm`, cm('fm'), { 'Content-Type': 'application/apply-patch+yaml' });
    expect(apply.code).toBe(422);
    expect(apply.body.message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  });

  it('fieldValidation Strict refuses, Warn warns, Ignore drops; another value is 422', async () => {
    const body = { ...cm('fv'), dta: { x: 'y' } };
    const strict = await h.raw('POST', `/api/v1/namespaces/${ns}/configmaps?fieldValidation=Strict`, body);
    expect(strict.code).toBe(400);
    expect(strict.body.message).toContain('strict decoding error: unknown field "dta"');
    const warn = await h.raw('POST', `/api/v1/namespaces/${ns}/configmaps?fieldValidation=Warn&dryRun=All`, body);
    expect(warn.code).toBe(201);
    expect(String(warn.headers.warning)).toContain('unknown field \\"dta\\"');
    const ignore = await h.raw('POST', `/api/v1/namespaces/${ns}/configmaps?fieldValidation=Ignore&dryRun=All`, body);
    expect(ignore.code).toBe(201);
    expect(ignore.headers.warning).toBeUndefined();
    const bad = await h.raw('POST', `/api/v1/namespaces/${ns}/configmaps?fieldValidation=strict`, body);
    expect(bad.code).toBe(422);
    expect(bad.body.message).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"');
  });

  it('force: apply only (a boolean as the parameter codec reads it); on another patch it is 422', async () => {
    const base = `/api/v1/namespaces/${ns}/configmaps/force`;
    await h.raw('PATCH', `${base}?fieldManager=one`, cm('force', { a: '1' }), { 'Content-Type': 'application/apply-patch+yaml' });
    const conflict = await h.raw('PATCH', `${base}?fieldManager=two&force=false`, cm('force', { a: '2' }), { 'Content-Type': 'application/apply-patch+yaml' });
    expect(conflict.code).toBe(409);
    const forced = await h.raw('PATCH', `${base}?fieldManager=two&force=True`, cm('force', { a: '2' }), { 'Content-Type': 'application/apply-patch+yaml' });
    expect(forced.code).toBe(200);
    expect(forced.body.data).toEqual({ a: '2' });
    const merge = await h.raw('PATCH', `${base}?force=true`, { data: { a: '3' } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(merge.code).toBe(422);
    expect(merge.body.message).toBe('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  });
});

describe('resourceVersion, resourceVersionMatch (get, list, watch)', () => {
  it('get: "", "0" or a version not newer than now answer the current object; a newer one is 504, a malformed one 400', async () => {
    const c = await h.core.createNamespacedConfigMap({ namespace: ns, body: cm('rvget') });
    const rv = Number(c.metadata!.resourceVersion);
    await h.raw('PATCH', `/api/v1/namespaces/${ns}/configmaps/rvget`, { data: { a: '2' } }, { 'Content-Type': 'application/merge-patch+json' });
    for (const q of ['', '?resourceVersion=0', `?resourceVersion=${rv}`]) {
      expect((await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps/rvget${q}`)).body.data).toEqual({ a: '2' });
    }
    const ahead = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps/rvget?resourceVersion=${rv + 1_000_000}`);
    expect(ahead.code).toBe(504);
    expect(ahead.body.reason).toBe('Timeout');
    expect(ahead.body.message).toMatch(/^Timeout: Too large resource version: \d+, current: \d+$/);
    expect((await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps/rvget?resourceVersion=abc`)).code).toBe(400);
  });

  it('list: Exact serves the state at that version (from the change history); NotOlderThan the current one', async () => {
    const lns = await h.namespace('rvlist');
    await h.core.createNamespacedConfigMap({ namespace: lns, body: cm('a') });
    const at = (await h.core.listNamespacedConfigMap({ namespace: lns })).metadata!.resourceVersion!;
    await h.core.createNamespacedConfigMap({ namespace: lns, body: cm('b') });
    await h.raw('PATCH', `/api/v1/namespaces/${lns}/configmaps/a`, { data: { a: 'changed' } }, { 'Content-Type': 'application/merge-patch+json' });
    await h.core.deleteNamespacedConfigMap({ name: 'a', namespace: lns });
    const exact = await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?resourceVersion=${at}&resourceVersionMatch=Exact`);
    expect(exact.body.metadata.resourceVersion).toBe(at);
    expect(exact.body.items.map((i: any) => [i.metadata.name, i.data.a])).toEqual([['a', '1']]);
    const legacy = await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?resourceVersion=${at}&limit=10`);
    expect(legacy.body.items.map((i: any) => i.metadata.name)).toEqual(['a']);
    const newer = await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?resourceVersion=${at}&resourceVersionMatch=NotOlderThan`);
    expect(newer.body.items.map((i: any) => i.metadata.name)).toEqual(['b']);
    h.cluster.compact();
    const gone = await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?resourceVersion=${at}&resourceVersionMatch=Exact`);
    expect(gone.code).toBe(410);
    expect(gone.body.reason).toBe('Expired');
  });

  it.each([
    ['list', 'resourceVersionMatch=Exact', 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided'],
    ['list', 'resourceVersion=0&resourceVersionMatch=Exact', 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'],
    ['list', 'resourceVersion=1&resourceVersionMatch=Newest', 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""'],
    ['list', 'sendInitialEvents=true', 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list'],
    ['watch', 'watch=true&resourceVersion=1&resourceVersionMatch=NotOlderThan', 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'],
    ['watch', 'watch=true&sendInitialEvents=true&allowWatchBookmarks=true', 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'],
  ])('%s with %s is 422 naming the option', async (_verb, query, message) => {
    const r = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps?${query}`);
    expect(r.code).toBe(422);
    expect(r.body.message).toBe(message);
  });
});

describe('limit and continue (list, deletecollection)', () => {
  it('pages are consistent: a continue token lists the state at the first page\'s version, then 410 with an inconsistent token once compacted', async () => {
    const lns = await h.namespace('pages');
    for (const n of ['a', 'b', 'c', 'd', 'e']) await h.core.createNamespacedConfigMap({ namespace: lns, body: cm(n) });
    const p1 = (await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?limit=2`)).body;
    expect(p1.items.map((i: any) => i.metadata.name)).toEqual(['a', 'b']);
    expect(p1.metadata.remainingItemCount).toBe(3);
    await h.core.deleteNamespacedConfigMap({ name: 'c', namespace: lns });
    await h.core.createNamespacedConfigMap({ namespace: lns, body: cm('bb') });
    const p2 = (await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?limit=2&continue=${p1.metadata.continue}`)).body;
    expect(p2.metadata.resourceVersion).toBe(p1.metadata.resourceVersion);
    expect(p2.items.map((i: any) => i.metadata.name)).toEqual(['c', 'd']);
    const withRv = await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?limit=2&resourceVersion=5&continue=${p1.metadata.continue}`);
    expect(withRv.code).toBe(400);
    expect(withRv.body.message).toBe('specifying resource version is not allowed when using continue');
    h.cluster.compact();
    const expired = await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?limit=2&continue=${p2.metadata.continue}`);
    expect(expired.code).toBe(410);
    const inconsistent = (await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?limit=2&continue=${expired.body.metadata.continue}`)).body;
    expect(inconsistent.items.map((i: any) => i.metadata.name)).toEqual(['e']);
    expect(await h.raw('GET', `/api/v1/namespaces/${lns}/configmaps?limit=x`)).toMatchObject({ code: 400 });
  });

  it('deletecollection deletes what the same list returns (selectors, limit)', async () => {
    const lns = await h.namespace('dcl');
    for (const n of ['a', 'b', 'c']) await h.core.createNamespacedConfigMap({ namespace: lns, body: cm(n, {}, { sel: n === 'c' ? 'no' : 'yes' }) });
    const r = await h.raw('DELETE', `/api/v1/namespaces/${lns}/configmaps?labelSelector=sel%3Dyes&limit=1`);
    expect(r.body.items.map((i: any) => i.metadata.name)).toEqual(['a']);
    const rest = await h.raw('DELETE', `/api/v1/namespaces/${lns}/configmaps?labelSelector=sel%3Dyes`);
    expect(rest.body.items.map((i: any) => i.metadata.name)).toEqual(['b']);
    expect((await h.core.listNamespacedConfigMap({ namespace: lns })).items.map((i) => i.metadata?.name)).toEqual(['c']);
    const bad = await h.raw('DELETE', `/api/v1/namespaces/${lns}/configmaps?fieldSelector=data.a%3D1`);
    expect(bad.code).toBe(400);
  });
});

describe('watch, allowWatchBookmarks, sendInitialEvents, timeoutSeconds', () => {
  it('watch is a boolean as the parameter codec reads it: watch=1 and watch=True watch, watch=false lists', async () => {
    for (const v of ['True']) {
      const w = await watchLines(`/api/v1/namespaces/${ns}/configmaps?watch=${v}&timeoutSeconds=1&fieldSelector=metadata.name%3Dfm`);
      expect(w.events.map((e) => e.type)).toEqual(['ADDED']);
    }
    const list = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps?watch=false&fieldSelector=metadata.name%3Dfm`);
    expect(list.body.kind).toBe('ConfigMapList');
  });

  it('sendInitialEvents=true (with bookmarks, NotOlderThan): the state as ADDED, then the initial-events-end bookmark, whatever resourceVersion', async () => {
    const wns = await h.namespace('sie');
    await h.core.createNamespacedConfigMap({ namespace: wns, body: cm('a') });
    const rv = (await h.core.listNamespacedConfigMap({ namespace: wns })).metadata!.resourceVersion!;
    await h.core.createNamespacedConfigMap({ namespace: wns, body: cm('b') });
    const w = await watchLines(`/api/v1/namespaces/${wns}/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=${rv}&timeoutSeconds=1`);
    expect(w.events.slice(0, 3).map((e) => [e.type, e.object.metadata.name ?? e.object.metadata.annotations?.['k8s.io/initial-events-end']])).toEqual([['ADDED', 'a'], ['ADDED', 'b'], ['BOOKMARK', 'true']]);
  });

  it('sendInitialEvents=false: no initial events even from resourceVersion "" ; a replay from a version', async () => {
    const wns = await h.namespace('sief');
    await h.core.createNamespacedConfigMap({ namespace: wns, body: cm('a') });
    const rv = (await h.core.listNamespacedConfigMap({ namespace: wns })).metadata!.resourceVersion!;
    await h.core.createNamespacedConfigMap({ namespace: wns, body: cm('b') });
    const none = await watchLines(`/api/v1/namespaces/${wns}/configmaps?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=1`);
    expect(none.events).toEqual([]);
    const replay = await watchLines(`/api/v1/namespaces/${wns}/configmaps?watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&resourceVersion=${rv}&timeoutSeconds=1`);
    expect(replay.events.map((e) => [e.type, e.object.metadata.name])).toEqual([['ADDED', 'b']]);
  });

  it('allowWatchBookmarks: BOOKMARKs only when asked; timeoutSeconds ends the watch; a watch from a future version is 504', async () => {
    const without = await watchLines(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${(await h.core.listNamespacedConfigMap({ namespace: ns })).metadata!.resourceVersion}&timeoutSeconds=1`);
    expect(without.events.filter((e) => e.type === 'BOOKMARK')).toEqual([]);
    const started = Date.now();
    const withBookmarks = await watchLines(`/api/v1/namespaces/${ns}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=1000000000&timeoutSeconds=1`);
    expect(withBookmarks.code).toBe(504);
    const ok = await watchLines(`/api/v1/namespaces/${ns}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=0&timeoutSeconds=1`);
    expect(ok.events.some((e) => e.type === 'BOOKMARK')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps?watch=true&timeoutSeconds=soon`)).code).toBe(400);
  });

  it('client-node Watch with allowWatchBookmarks receives BOOKMARKs', async () => {
    const seen: string[] = [];
    const req = await new Watch(h.kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { allowWatchBookmarks: true, resourceVersion: '0' }, (type) => { seen.push(type); }, () => undefined);
    await eventually('a BOOKMARK', () => seen.includes('BOOKMARK'));
    req.abort();
  });
});

describe('labelSelector, fieldSelector, pretty, timeout', () => {
  it('selectors filter list, watch and deletecollection; an unsupported field is 400 naming it', async () => {
    const r = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps?fieldSelector=data.a%3D1`);
    expect(r.code).toBe(400);
    expect(r.body.message).toContain('data.a');
    const bad = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps?labelSelector=a%20in`);
    expect(bad.code).toBe(400);
  });

  it('includeObject (Table): None, Metadata, Object; another value is 400 naming it', async () => {
    const accept = { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
    const none = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps?includeObject=None`, undefined, accept);
    expect(none.body.kind).toBe('Table');
    expect(none.body.rows[0].object).toBeUndefined();
    const obj = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps?includeObject=Object`, undefined, accept);
    expect(obj.body.rows[0].object.kind).toBe('ConfigMap');
    const bad = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps?includeObject=Everything`, undefined, accept);
    expect(bad.code).toBe(400);
    expect(bad.body.message).toBe(`includeObject: Invalid value: "Everything": must be 'Metadata', 'Object', 'None', or empty`);
  });

  it('pretty=true indents the JSON; timeout (of a write) is accepted: writes finish at once', async () => {
    const r = await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps/fm?pretty=true`);
    expect(r.text).toMatch(/^\{\n {2}"/);
    expect(r.text).toContain('\n  "kind": "ConfigMap",\n');
    expect((await h.raw('GET', `/api/v1/namespaces/${ns}/configmaps/fm`)).text).toMatch(/^\{"/);
    const w = await h.raw('POST', `/apis/apps/v1/namespaces/${ns}/deployments?timeout=10s`, deployment('timeout'));
    expect(w.code).toBe(201);
  });
});
