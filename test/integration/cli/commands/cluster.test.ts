/**
 * `ripple cluster`: the kubeconfig it writes works, token-file identities authenticate (and meet RBAC), bad
 * input is reported with the file and line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { runCluster } from '../../../../cli/commands/cluster.ts';
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

  it('names the line of a malformed token file', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'ok,bob,u2\nonly-two,columns\n');
    await expect(runCluster({ ...base, kubeconfig: join(dir, 'y.yaml'), tokenFile: bad }, () => {})).rejects.toThrow(/bad\.csv: token file line 2: must have at least 3 columns/);
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
