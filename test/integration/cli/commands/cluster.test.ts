/**
 * `ripple cluster`: the kubeconfig it writes works, token-file identities authenticate (and meet RBAC), bad
 * input is reported with the file and line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { requestLine, runCluster } from '../../../../cli/commands/cluster.ts';
import type { EmbeddedCluster } from '../../../../infra/local/cluster/index.ts';

let cluster: EmbeddedCluster | undefined;
const dir = mkdtempSync(join(tmpdir(), 'ripple-cluster-cmd-'));
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const base = { port: 0, host: '127.0.0.1', authorization: 'RBAC' };

describe('ripple cluster', () => {
  it('writes an admin kubeconfig and accepts the token file identities', async () => {
    // Prepare
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, '# user tokens\nt-alice,alice,u1,"devs,qa"\n');
    const lines: string[] = [];
    // Act
    const started = await runCluster({ ...base, kubeconfig: join(dir, 'kc', 'admin.yaml'), tokenFile: tokens }, (l) => lines.push(l));
    cluster = started.cluster;
    // Assess
    expect(lines.join('\n')).toContain(`export KUBECONFIG=${started.kubeconfigPath}`);
    const admin = new KubeConfig();
    admin.loadFromString(readFileSync(started.kubeconfigPath, 'utf8'));
    expect((await admin.makeApiClient(CoreV1Api).listNamespace()).items.length).toBeGreaterThanOrEqual(4);

    const alice = new KubeConfig();
    alice.loadFromOptions({
      clusters: [{ name: 'c', server: cluster.url, caData: Buffer.from(cluster.caCert).toString('base64') }],
      users: [{ name: 'alice', token: 't-alice' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'alice' }],
      currentContext: 'c',
    });
    const err = await alice.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'default' }).catch((e) => e);
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body).message).toBe('secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "default"');
  });

  it.each([
    [{ tokenFile: join(dir, 'missing.csv') }, /--token-file .*missing\.csv: cannot read it \(ENOENT\)/],
    [{ authorization: 'Maybe' }, /--authorization: must be RBAC or AlwaysAllow, got "Maybe"/],
  ])('reports bad input clearly: %j', async (extra, message) => {
    await expect(runCluster({ ...base, kubeconfig: join(dir, 'x.yaml'), ...extra }, () => {})).rejects.toThrow(message);
  });

  it('says which port is taken', async () => {
    const first = await runCluster({ ...base, kubeconfig: join(dir, 'p1.yaml') }, () => {});
    cluster = first.cluster;
    const port = Number(new URL(first.cluster.url).port);
    await expect(runCluster({ ...base, port, kubeconfig: join(dir, 'p2.yaml') }, () => {})).rejects.toThrow(`127.0.0.1:${port} is already in use; choose another port (0 = any free port)`);
  });

  it('--verbose prints one line per request from its audit event', async () => {
    const lines: string[] = [];
    const started = await runCluster({ ...base, kubeconfig: join(dir, 'v.yaml'), verbose: true }, (l) => lines.push(l));
    cluster = started.cluster;
    const kc = new KubeConfig();
    kc.loadFromString(readFileSync(started.kubeconfigPath, 'utf8'));
    await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'logged' }, data: { k: 'not-in-logs' } } });
    const line = await (async () => {
      for (let i = 0; i < 100; i++) {
        const l = lines.find((x) => x.includes('create configmaps'));
        if (l) return l;
        await new Promise((r) => setTimeout(r, 20));
      }
      return '';
    })();
    expect(line).toMatch(/^\d\d:\d\d:\d\d admin create configmaps logged -n default 201 \(\d+ ms\)$/);
    expect(lines.join('\n')).not.toContain('not-in-logs');
  });

  it('formats denials with the reason and impersonation', () => {
    expect(requestLine({
      kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: 'x', stage: 'ResponseComplete', requestURI: '/api/v1/namespaces/a/secrets',
      verb: 'list', user: { username: 'admin', groups: [] }, impersonatedUser: { username: 'bob', groups: [] }, sourceIPs: [],
      objectRef: { resource: 'secrets', namespace: 'a', apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 403, reason: 'Forbidden' },
      requestReceivedTimestamp: '2026-01-01T10:00:00.000000Z', stageTimestamp: '2026-01-01T10:00:00.004000Z', annotations: {},
    })).toBe('10:00:00 admin as bob list secrets -n a 403 Forbidden (4 ms)');
  });

  it('names the line of a malformed token file', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'ok,bob,u2\nonly-two,columns\n');
    await expect(runCluster({ ...base, kubeconfig: join(dir, 'y.yaml'), tokenFile: bad }, () => {})).rejects.toThrow(/bad\.csv: token file line 2: must have at least 3 columns/);
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
