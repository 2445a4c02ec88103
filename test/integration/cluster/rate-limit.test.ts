/**
 * Real API limits over HTTP: the embedded API server with `maxRequestsPerSecond` answers 429 TooManyRequests with
 * Retry-After (as API Priority and Fairness does; system:masters exempt), and the handlers' request path
 * (kube/http.ts) honours it inside the call: every request succeeds, none is lost or run
 * twice, and the client-side token bucket keeps a client under its own limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type AuditEvent, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { kubeFromKubeConfig } from '../../../kube/kubeconfig.ts';
import { RetryableError } from '../../../core/errors.ts';

const RATE = 20;
let cluster: EmbeddedCluster;
const audit: AuditEvent[] = [];

beforeAll(async () => {
  cluster = await startCluster({ authorization: 'AlwaysAllow', controllers: false, maxRequestsPerSecond: RATE });
  cluster.onAudit((e) => audit.push(e));
  const admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
  await admin.core.createNamespace({ body: { metadata: { name: 'rl' } } });
});

afterAll(async () => {
  await cluster?.stop();
});

const user = (name: string) => ({ user: name, groups: ['system:authenticated'] });
const create = (i: number) => ({ describe: { verb: 'create', resource: 'configmaps', namespace: 'rl' }, body: { metadata: { name: `cm-${i}` }, data: { i: String(i) } } });

describe('embedded API server request-rate limit', () => {
  it('answers 429 TooManyRequests with Retry-After over the limit, and exempts system:masters', async () => {
    // Prepare: a client without its own limit and without 429 retries
    const raw = kubeFromKubeConfig(cluster.kubeConfig(user('burst')), 'local', { rateLimit: { perSecond: 0 }, max429Retries: 0 }).raw;
    // Act
    const results = await Promise.allSettled(Array.from({ length: 3 * RATE }, () => raw.request('GET', '/api/v1/namespaces/rl/configmaps', { describe: { verb: 'list', resource: 'configmaps', namespace: 'rl' } })));
    // Assess: the burst (one second's worth) passes, the rest is refused as retryable
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(RATE / 2);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RetryableError);
    expect(String((refused[0] as PromiseRejectedResult).reason.message)).toMatch(/429|Too many requests/i);
    const throttled = audit.filter((e) => e.user.username === 'burst' && e.responseStatus.code === 429);
    expect(throttled.length).toBe(refused.length);
    expect(throttled[0].responseStatus.reason).toBe('TooManyRequests');
    // system:masters is exempt (the `exempt` priority level)
    const admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local', { rateLimit: { perSecond: 0 }, max429Retries: 0 }).raw;
    const adminResults = await Promise.allSettled(Array.from({ length: 3 * RATE }, () => admin.request('GET', '/api/v1/namespaces/rl/configmaps', { describe: { verb: 'list', resource: 'configmaps', namespace: 'rl' } })));
    expect(adminResults.every((r) => r.status === 'fulfilled')).toBe(true);
  });

  it('sends Retry-After: 1 on the 429 (seen by a plain HTTP client)', async () => {
    const kc = cluster.kubeConfig(user('plain'));
    const token = kc.getCurrentUser()!.token!;
    const { request } = await import('node:https');
    const statuses: { code: number; retryAfter?: string; body: string }[] = [];
    await Promise.all(
      Array.from({ length: 3 * RATE }, () =>
        new Promise<void>((resolve, reject) => {
          const req = request(`${cluster.url}/api/v1/namespaces/rl/configmaps`, { ca: cluster.caCert, headers: { Authorization: `Bearer ${token}` } }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c));
            res.on('end', () => {
              statuses.push({ code: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body });
              resolve();
            });
          });
          req.on('error', reject);
          req.end();
        }),
      ),
    );
    const tooMany = statuses.filter((s) => s.code === 429);
    expect(tooMany.length).toBeGreaterThan(0);
    expect(tooMany[0].retryAfter).toBe('1');
    expect(JSON.parse(tooMany[0].body)).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 1 } });
  });

  it('the handlers\' request path honours 429 + Retry-After inside the call: every write lands exactly once', async () => {
    // Prepare: writes well over the server's limit, sent all at once by a client that does not limit itself
    const raw = kubeFromKubeConfig(cluster.kubeConfig(user('writer')), 'local', { rateLimit: { perSecond: 0 } }).raw;
    const n = 3 * RATE;
    const from = audit.length;
    // Act
    const t0 = Date.now();
    await Promise.all(Array.from({ length: n }, (_, i) => raw.request('POST', '/api/v1/namespaces/rl/configmaps', create(i))));
    const took = Date.now() - t0;
    // Assess: all created (no error), each exactly once, after some 429s waited out
    const mine = audit.slice(from).filter((e) => e.user.username === 'writer' && e.verb === 'create');
    expect(mine.filter((e) => e.responseStatus.code === 201)).toHaveLength(n);
    expect(mine.filter((e) => e.responseStatus.code === 409)).toHaveLength(0);
    expect(mine.filter((e) => e.responseStatus.code === 429).length).toBeGreaterThan(0);
    expect(took).toBeGreaterThanOrEqual(1000);
  });

  it('a client-side limit keeps the client under the server\'s: no 429 at all', async () => {
    const raw = kubeFromKubeConfig(cluster.kubeConfig(user('polite')), 'local', { rateLimit: { perSecond: RATE / 2, burst: RATE / 2 } }).raw;
    // The server's budget is shared by all clients: let the previous test's last burst refill it (1 s)
    await new Promise((r) => setTimeout(r, 1100));
    const from = audit.length;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: RATE }, () => raw.request('GET', '/api/v1/namespaces/rl/configmaps', { describe: { verb: 'list', resource: 'configmaps', namespace: 'rl' } })));
    const took = Date.now() - t0;
    const mine = audit.slice(from).filter((e) => e.user.username === 'polite');
    expect(mine.filter((e) => e.responseStatus.code === 429)).toHaveLength(0);
    expect(mine).toHaveLength(RATE);
    // RATE requests at RATE/2 per second with a burst of RATE/2: the second half waits ~1 s
    expect(took).toBeGreaterThanOrEqual(900);
  });
});
