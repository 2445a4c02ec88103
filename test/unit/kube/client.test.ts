import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, PermanentError, RetryableError } from '../../../core/errors.ts';
import { ForbiddenError, NotFoundError, orNull, retryOnConflict } from '../../../functions/runtime/kube.ts';
import { kubeFromKubeConfig } from '../../../kube/kubeconfig.ts';
import { kubeOverHttp } from '../../../kube/client.ts';
import { METADATA_ONLY_ACCEPT } from '../../../kube/http.ts';
import { describeCall } from '../../../kube/client.ts';
import { describePath, ExpiredError } from '../../../kube/errors.ts';
import { selfSignedCert } from '../../../infra/local/cluster/tls.ts';

// A plain HTTP server answering like kube-apiserver does (Status bodies), so the real client-node request path runs.
let server: Server;
let url = '';
// The same answers over HTTPS with a CA in the kubeconfig (client-node's typed APIs hand requests an undici Agent;
// raw requests go over node:https with the kubeconfig's CA and credentials).
let tlsServer: Server;
let tlsUrl = '';
let tlsCa = '';
const seen: { method: string; url: string; auth?: string; type?: string; accept?: string }[] = [];
const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, reason, message });

beforeAll(async () => {
  const answer: RequestListener = (req: IncomingMessage, res) => {
    seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, type: req.headers['content-type'], accept: req.headers.accept });
    const q = new URL(req.url!, 'http://x').searchParams;
    if (q.get('watch') === 'true') {
      // Watches: an error answer chosen by labelSelector, else three lines split across chunks, then the end.
      const fail: Record<string, [number, string, string]> = { gone: [410, 'Expired', 'too old resource version: 1 (5)'], denied: [403, 'Forbidden', 'configmaps is forbidden'] };
      const f = fail[q.get('labelSelector') ?? ''];
      if (f) {
        res.writeHead(f[0], { 'content-type': 'application/json' });
        return res.end(JSON.stringify(status(...f)));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      const lines = ['a', 'b', 'c'].map((n, i) => JSON.stringify({ type: 'ADDED', object: { metadata: { name: n, resourceVersion: String(i + 2) } } }) + '\n').join('');
      res.write(lines.slice(0, 30));
      setTimeout(() => res.end(lines.slice(30)), 20);
      return;
    }
    const name = /\/secrets\/([^/?]+)/.exec(req.url!)?.[1] ?? (/name=([^&]+)/.exec(req.url!)?.[1] ?? '');
    const send = (code: number, body: object) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (name === 'hang') return; // never answers: the client must time out
    if (name === 'reset') return req.socket.destroy();
    const codes: Record<string, [number, string, string]> = {
      conflict: [409, 'Conflict', 'Operation cannot be fulfilled on secrets "conflict": the object has been modified'],
      missing: [404, 'NotFound', 'secrets "missing" not found'],
      busy: [429, 'TooManyRequests', 'too many requests'],
      broken: [503, 'ServiceUnavailable', 'etcd unavailable'],
      denied: [403, 'Forbidden', 'secrets "denied" is forbidden: User "u" cannot update resource "secrets" in API group "" in the namespace "ns"'],
      invalid: [422, 'Invalid', 'Secret "invalid" is invalid: metadata.labels: Invalid value'],
    };
    const c = codes[name];
    if (c) return send(c[0], status(...c));
    if (/^\/api\/v1\/secrets\?/.test(req.url!)) return send(200, { apiVersion: 'v1', kind: 'SecretList', metadata: { resourceVersion: '1', continue: 'next-page' }, items: [] });
    send(200, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns', resourceVersion: '1' } });
  };
  server = createServer(answer);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cert = selfSignedCert(['127.0.0.1']);
  tlsCa = cert.cert;
  tlsServer = createHttpsServer({ cert: cert.cert, key: cert.key }, answer);
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
  tlsUrl = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  tlsServer.closeAllConnections?.();
  await new Promise<void>((r) => tlsServer.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
});

/** One error-translation table for both transports: the kubeconfig path and the plain JSON (Lambda) path. */
const ERROR_CASES: Array<[string, new (...a: any[]) => Error, RegExp]> = [
  ['conflict', ConflictError, /update secrets ns\/conflict: conflict/],
  ['missing', NotFoundError, /update secrets ns\/missing: not found/],
  ['busy', RetryableError, /HTTP 429/],
  ['broken', RetryableError, /HTTP 503/],
  ['denied', ForbiddenError, /update secrets ns\/denied: forbidden: .*cannot update resource "secrets".*grant "update" on "secrets"/],
  ['invalid', PermanentError, /HTTP 422/],
  ['hang', RetryableError, /request timed out/],
  ['reset', RetryableError, /network error/],
];

/** Replace a Secret named after the case; the error must be translated, say what failed, and carry no data. */
async function expectTranslated(k: { core: { replaceNamespacedSecret(p: any): Promise<unknown> } }, name: string, cls: new (...a: any[]) => Error, message: RegExp) {
  const err = await k.core
    .replaceNamespacedSecret({ name, namespace: 'ns', body: { metadata: { name, namespace: 'ns' }, data: { k: 'c2VjcmV0' } } })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(message);
  expect((err as Error).message).not.toContain('c2VjcmV0');
  if (cls === PermanentError || cls === ForbiddenError) expect(err).not.toBeInstanceOf(RetryableError);
}

function kube(timeoutMs = 300) {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u', token: 'tok' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' });
  return kubeFromKubeConfig(kc, 'c', { timeoutMs });
}

describe('kube client error translation', () => {
  it.each(ERROR_CASES)('%s -> %o', (name, cls, message) => expectTranslated(kube(), name, cls, message));

  it('puts fieldManager=ripple on writes, not on reads, and sends the bearer token', async () => {
    const k = kube();
    seen.length = 0;
    await k.core.readNamespacedSecret({ name: 'ok', namespace: 'ns' });
    await k.core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 'ok' } } });
    await k.core.patchNamespacedSecret({ name: 'ok', namespace: 'ns', body: { metadata: { labels: { a: 'b' } } } });
    await k.core.replaceNamespacedSecret({ name: 'ok', namespace: 'ns', body: { metadata: { name: 'ok' } }, fieldManager: 'other' });
    expect(seen.map((s) => [s.method, new URL(s.url, url).searchParams.get('fieldManager')])).toEqual([
      ['GET', null],
      ['POST', 'ripple'],
      ['PATCH', 'ripple'],
      ['PUT', 'other'],
    ]);
    expect(seen.every((s) => s.auth === 'Bearer tok')).toBe(true);
  });

  it('orNull turns 404 into null and rethrows the rest', async () => {
    expect(await orNull(kube().core.readNamespacedSecret({ name: 'missing', namespace: 'ns' }))).toBeNull();
    await expect(orNull(kube().core.readNamespacedSecret({ name: 'broken', namespace: 'ns' }))).rejects.toBeInstanceOf(RetryableError);
  });
});

function tlsKube(timeoutMs = 300) {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: tlsUrl, caData: Buffer.from(tlsCa).toString('base64') }], users: [{ name: 'u', token: 'tok' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' });
  return kubeFromKubeConfig(kc, 'c', { timeoutMs });
}

describe('kube client raw (plain JSON) requests', () => {
  const rawPut = (k: ReturnType<typeof kube>, name: string) =>
    k.raw.request('PUT', `/api/v1/namespaces/ns/secrets/${name}`, { describe: { verb: 'update', resource: 'secrets', namespace: 'ns', name }, body: { metadata: { name, namespace: 'ns' }, data: { k: 'c2VjcmV0' } } });
  it.each(ERROR_CASES)('%s -> %o, over HTTP and HTTPS (kubeconfig CA)', async (name, cls, message) => {
    for (const k of [kube(), tlsKube()]) {
      const err = await rawPut(k, name).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('c2VjcmV0');
      if (cls === PermanentError || cls === ForbiddenError) expect(err).not.toBeInstanceOf(RetryableError);
    }
  });

  it('answers plain JSON, puts fieldManager=ripple on writes only, sends the bearer token and the content type', async () => {
    for (const k of [kube(), tlsKube()]) {
      seen.length = 0;
      const got = await k.raw.request<{ kind: string; metadata: { name: string } }>('GET', '/api/v1/namespaces/ns/secrets/ok', { describe: { verb: 'get', resource: 'secrets' } });
      expect(got).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ok', namespace: 'ns', resourceVersion: '1' } });
      await k.raw.request('PATCH', '/api/v1/namespaces/ns/secrets/ok', { describe: { verb: 'patch', resource: 'secrets' }, body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/strategic-merge-patch+json' });
      await k.raw.request('POST', '/api/v1/namespaces/ns/secrets', { describe: { verb: 'create', resource: 'secrets' }, body: {}, query: { fieldManager: 'other' } });
      expect(seen.map((r) => [r.method, new URL(r.url, url).searchParams.get('fieldManager'), r.type])).toEqual([
        ['GET', null, undefined],
        ['PATCH', 'ripple', 'application/strategic-merge-patch+json'],
        ['POST', 'other', 'application/json'],
      ]);
      expect(seen.every((r) => r.auth === 'Bearer tok')).toBe(true);
    }
  });

  it('discardAnswer: a successful answer is drained, not parsed (undefined), the connection reused; an error answer is still read and translated', async () => {
    for (const k of [kube(), tlsKube()]) {
      // Act
      const ok = await k.raw.request('PATCH', '/api/v1/namespaces/ns/secrets/ok', { body: {}, contentType: 'application/strategic-merge-patch+json', discardAnswer: true });
      const again = await k.raw.request<{ metadata: { name: string } }>('GET', '/api/v1/namespaces/ns/secrets/ok2');
      const err = await k.raw.request('PATCH', '/api/v1/namespaces/ns/secrets/missing', { describe: { verb: 'patch', resource: 'secrets', namespace: 'ns', name: 'missing' }, body: {}, discardAnswer: true }).catch((e: unknown) => e);
      // Assess
      expect(ok).toBeUndefined();
      expect(again.metadata.name).toBe('ok2');
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toMatch(/patch secrets ns\/missing: not found/);
    }
  });

  it('discardAnswer asks for the metadata only (falling back to plain JSON); other requests, and a discarded deletecollection, ask for plain JSON', async () => {
    for (const k of [kube(), tlsKube()]) {
      // Prepare
      seen.length = 0;
      // Act: this server does not know PartialObjectMetadata and answers the whole object, which is drained as well
      const discarded = [
        await k.raw.request('POST', '/api/v1/namespaces/ns/secrets', { body: {}, discardAnswer: true }),
        await k.raw.request('PUT', '/api/v1/namespaces/ns/secrets/ok', { body: {}, discardAnswer: true }),
        await k.raw.request('PATCH', '/api/v1/namespaces/ns/secrets/ok', { body: {}, contentType: 'application/merge-patch+json', discardAnswer: true }),
        await k.raw.request('DELETE', '/api/v1/namespaces/ns/secrets/ok', { discardAnswer: true }),
      ];
      await k.raw.request('DELETE', '/api/v1/namespaces/ns/secrets', { discardAnswer: true });
      await k.raw.request('PUT', '/api/v1/namespaces/ns/secrets/ok', { body: {} });
      await k.raw.request('GET', '/api/v1/namespaces/ns/secrets/ok');
      // Assess
      expect(discarded).toEqual([undefined, undefined, undefined, undefined]);
      expect(seen.map((r) => `${r.method} ${r.accept}`)).toEqual([
        `POST ${METADATA_ONLY_ACCEPT}`,
        `PUT ${METADATA_ONLY_ACCEPT}`,
        `PATCH ${METADATA_ONLY_ACCEPT}`,
        `DELETE ${METADATA_ONLY_ACCEPT}`,
        'DELETE application/json',
        'PUT application/json',
        'GET application/json',
      ]);
    }
    expect(METADATA_ONLY_ACCEPT).toBe('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json');
  });
});

describe('kube client watch (the same client, streaming)', () => {
  it('delivers lines in order, split across chunks, awaiting the consumer before reading on, over HTTP and HTTPS', async () => {
    for (const k of [kube(), tlsKube()]) {
      seen.length = 0;
      const got: string[] = [];
      let inFlight = 0;
      await k.raw.watch('/api/v1/namespaces/ns/configmaps', { resourceVersion: '1', labelSelector: undefined }, async (l) => {
        inFlight++;
        expect(inFlight).toBe(1); // never two lines at once: the stream waits for the consumer
        await new Promise((r) => setTimeout(r, 5));
        got.push(`${l.type} ${l.object.metadata.name}`);
        inFlight--;
      }, new AbortController().signal);
      expect(got).toEqual(['ADDED a', 'ADDED b', 'ADDED c']);
      const q = new URL(seen[0]!.url, url).searchParams;
      expect([q.get('watch'), q.get('resourceVersion'), q.has('labelSelector'), seen[0]!.auth]).toEqual(['true', '1', false, 'Bearer tok']);
    }
  });

  it.each([
    ['gone', ExpiredError, /watch configmaps ns: expired \(too old resource version: 1 \(5\)\); list again/],
    ['denied', ForbiddenError, /watch configmaps ns: forbidden: configmaps is forbidden/],
  ] as const)('an HTTP error answer (%s) is translated like any request: %o', async (selector, cls, message) => {
    const err = await kube().raw.watch('/api/v1/namespaces/ns/configmaps', { labelSelector: selector }, () => {}, new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as Error).message).toMatch(message);
  });

  it("an error thrown by the consumer comes back unchanged (it is not the server's)", async () => {
    const mine = new Error('consumer failed');
    await expect(kube().raw.watch('/api/v1/namespaces/ns/configmaps', {}, () => Promise.reject(mine), new AbortController().signal)).rejects.toBe(mine);
  });
});

describe('describePath', () => {
  it.each([
    ['GET', '/api/v1/namespaces/ns/secrets/a', { verb: 'get', resource: 'secrets', namespace: 'ns', name: 'a' }],
    ['GET', '/api/v1/secrets', { verb: 'list', resource: 'secrets' }],
    ['POST', '/apis/coordination.k8s.io/v1/namespaces/ripple-system/leases', { verb: 'create', resource: 'leases', namespace: 'ripple-system' }],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ripple-system/leases/l', { verb: 'update', resource: 'leases', namespace: 'ripple-system', name: 'l' }],
    ['PATCH', '/apis/apps/v1/namespaces/n/deployments/d/status', { verb: 'patch', resource: 'deployments/status', namespace: 'n', name: 'd' }],
    ['GET', '/api/v1/namespaces/team-a', { verb: 'get', resource: 'namespaces', name: 'team-a' }],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces' }],
    ['DELETE', '/api/v1/namespaces/n/configmaps', { verb: 'deletecollection', resource: 'configmaps', namespace: 'n' }],
  ])('%s %s', (method, path, expected) => {
    expect(describePath(method, path)).toEqual(expected);
  });
});

describe('retryOnConflict', () => {
  it('re-runs after a conflict and gives up after the limit', async () => {
    let n = 0;
    expect(await retryOnConflict(async () => (++n < 3 ? Promise.reject(new ConflictError('x')) : 'done'), { delayMs: 0 })).toBe('done');
    expect(n).toBe(3);
    n = 0;
    await expect(retryOnConflict(async () => (n++, Promise.reject(new ConflictError('x'))), { attempts: 2, delayMs: 0 })).rejects.toBeInstanceOf(ConflictError);
    expect(n).toBe(2);
    await expect(retryOnConflict(async () => Promise.reject(new PermanentError('p')), { delayMs: 0 })).rejects.toBeInstanceOf(PermanentError);
  });
});

describe('describeCall', () => {
  it.each([
    ['readNamespacedSecret', { name: 'a', namespace: 'b' }, { verb: 'get', resource: 'secrets', namespace: 'b', name: 'a' }],
    ['listSecretForAllNamespaces', {}, { verb: 'list', resource: 'secrets' }],
    ['patchNamespacedDeployment', { name: 'd', namespace: 'n' }, { verb: 'patch', resource: 'deployments', namespace: 'n', name: 'd' }],
    ['listNamespace', {}, { verb: 'list', resource: 'namespaces' }],
    ['createNamespacedEvent', { namespace: 'n' }, { verb: 'create', resource: 'events', namespace: 'n' }],
    ['deleteCollectionNamespacedConfigMap', { namespace: 'n' }, { verb: 'deletecollection', resource: 'configmaps', namespace: 'n' }],
    ['readNamespacedDeploymentStatus', { name: 'd', namespace: 'n' }, { verb: 'get', resource: 'deployments/status', namespace: 'n', name: 'd' }],
  ])('%s', (method, args, expected) => {
    expect(describeCall(method, [args])).toEqual({ namespace: undefined, name: undefined, ...expected });
  });
});

// The Lambda (EKS) path: no client-node at all, node:https with the cluster CA and a bearer token.
function httpKube(timeoutMs = 300) {
  return kubeOverHttp('c', { server: tlsUrl, ca: tlsCa, prepare: async (ro) => void (ro.headers.Authorization = 'Bearer tok') }, { timeoutMs });
}

describe('kube typed calls over the plain JSON path (no client-node)', () => {
  it.each(ERROR_CASES)('%s -> %o', (name, cls, message) => expectTranslated(httpKube(), name, cls, message));

  it('sends client-node\'s paths and query parameters, fieldManager=ripple on writes, and the bearer token', async () => {
    // Prepare
    const k = httpKube();
    seen.length = 0;
    // Act
    const got = await k.core.readNamespacedSecret({ name: 'ok', namespace: 'ns' });
    await k.core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 'ok' } } });
    await k.core.replaceNamespacedSecret({ name: 'ok', namespace: 'ns', body: { metadata: { name: 'ok' } }, fieldManager: 'other' });
    await k.core.deleteNamespacedSecret({ name: 'ok', namespace: 'ns', body: { preconditions: { uid: 'u1' } } });
    const list = await k.core.listSecretForAllNamespaces({ fieldSelector: 'metadata.name=ok', limit: 2, _continue: 'this-page' });
    // Assess
    expect(got.metadata?.resourceVersion).toBe('1');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/namespaces/ns/secrets/ok',
      'POST /api/v1/namespaces/ns/secrets?fieldManager=ripple',
      'PUT /api/v1/namespaces/ns/secrets/ok?fieldManager=other',
      'DELETE /api/v1/namespaces/ns/secrets/ok',
      'GET /api/v1/secrets?fieldSelector=metadata.name%3Dok&limit=2&continue=this-page',
    ]);
    expect(seen.every((s) => s.auth === 'Bearer tok')).toBe(true);
    expect(seen[1]!.type).toBe('application/json');
    expect(list.metadata?._continue).toBe('next-page'); // client-node's model name for `continue`
  });
});
