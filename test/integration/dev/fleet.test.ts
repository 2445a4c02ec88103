/**
 * `ripple dev --clusters hub,edge`: two embedded clusters, each with its own forwarder, one local bus, the real
 * handlers as serverless.yml wires them. A service directory built from the repository's pieces with one fleet policy:
 * the base Secret in hub/platform, protected, cloned into the team namespaces of both clusters, its consumers
 * reloaded. Everything below goes through the forwarders, the bus rules and the handlers; the test only acts as a
 * user of each cluster (its context in .ripple/kubeconfig) and waits.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDev, type DevSession } from '../../../infra/local/dev/index.ts';
import { createOutput } from '../../../infra/local/dev/output.ts';
import { ANN_SOURCE } from '../../../core/constants.ts';
import { serviceCopy } from '../../support/service.ts';

const repo = resolve(import.meta.dirname, '../../..');
const POLICY = `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: regcred }
spec:
  source: { kind: Secret, namespace: platform, name: regcred, cluster: hub }
  protect:
    allow: { groups: [system:masters] }
  sync:
    clusters: ["*"]
    namespaces: { include: ["team-*"] }
  reload:
    kinds: [Deployment]
    references: [env]
`;

let dir: string;
let session: DevSession;
let text = '';
const api = { hub: null as unknown as CoreV1Api, edge: null as unknown as CoreV1Api };
let edgeApps: AppsV1Api;

async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; invocations ${JSON.stringify(session.invocations())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const token = (s: V1Secret | null) => (s?.data?.token ? Buffer.from(s.data.token, 'base64').toString() : null);
const copy = (c: 'hub' | 'edge', ns: string) => api[c].readNamespacedSecret({ namespace: ns, name: 'regcred' }).catch(() => null);

/** A service directory from the repository's pieces (code linked, what dev renders copied) with these policies only. */
function serviceDir(policies: Record<string, string>): string {
  const d = serviceCopy('ripple-dev-fleet-', (src) => !src.endsWith('.yaml') || src.includes('kyverno'));
  for (const [file, text] of Object.entries(policies)) writeFileSync(join(d, 'policies', file), text);
  return d;
}

beforeAll(async () => {
  dir = serviceDir({ 'regcred.yaml': POLICY });
  const out = createOutput((s) => void (text += s), { color: false, logs: 'none' });
  session = await startDev({ cwd: dir, stateDir: join(dir, '.ripple'), clusters: ['hub', 'edge'], scenario: false, retryScale: 600 }, out);
  for (const c of ['hub', 'edge'] as const) {
    const kc = new KubeConfig();
    kc.loadFromFile(session.kubeconfigPath);
    kc.setCurrentContext(c);
    api[c] = kc.makeApiClient(CoreV1Api);
    if (c === 'edge') edgeApps = kc.makeApiClient(AppsV1Api);
  }
}, 120_000);
afterAll(async () => {
  await session?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ripple dev --clusters hub,edge', () => {
  it('writes one kubeconfig context per cluster, named after it, the first current; the functions get every cluster', () => {
    const kc = YAML.parse(readFileSync(session.kubeconfigPath, 'utf8'));
    expect(kc.contexts.map((c: { name: string }) => c.name)).toEqual(['hub', 'edge']);
    expect(kc['current-context']).toBe('hub');
    expect(new Set(kc.clusters.map((c: { cluster: { server: string } }) => c.cluster.server)).size).toBe(2);
    const clone = YAML.parse(readFileSync(join(dir, '.ripple', 'kubeconfig-ripple-clone'), 'utf8'));
    expect(clone.contexts.map((c: { name: string }) => c.name)).toEqual(['hub', 'edge']);
    expect(session.clusters).toEqual(['hub', 'edge']);
    expect(text).toContain('forwarder   in-process as system:serviceaccount:ripple-system:ripple-forwarder, cluster "edge" -> bus ripple-dev');
    expect(text).toContain('audit log   /aws/eks/edge/cluster -> protect');
  });

  it('clones the base in hub into the team namespaces of both clusters, follows its updates, and reloads a consumer in edge', { timeout: 90_000 }, async () => {
    for (const ns of ['platform', 'team-a']) await api.hub.createNamespace({ body: { metadata: { name: ns } } });
    for (const ns of ['team-a', 'team-b']) await api.edge.createNamespace({ body: { metadata: { name: ns } } });
    await edgeApps.createNamespacedDeployment({
      namespace: 'team-a',
      body: {
        metadata: { name: 'app' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'app' } },
          template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image: 'nginx', env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'regcred', key: 'token' } } }] }] } },
        },
      },
    });
    await api.hub.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'regcred' }, stringData: { token: 'v1' } } });
    await eventually('copies of v1 in hub/team-a, edge/team-a, edge/team-b', async () => token(await copy('hub', 'team-a')) === 'v1' && token(await copy('edge', 'team-a')) === 'v1' && token(await copy('edge', 'team-b')) === 'v1');
    expect((await copy('edge', 'team-a'))?.metadata?.annotations?.[ANN_SOURCE]).toBe('Secret/platform/regcred');
    expect(await api.edge.readNamespacedSecret({ namespace: 'platform', name: 'regcred' }).catch(() => null)).toBeNull();

    const revision = async () => Number((await edgeApps.readNamespacedDeployment({ namespace: 'team-a', name: 'app' })).metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    const before = await eventually('the Deployment in edge has a first revision', revision);
    const base = await api.hub.readNamespacedSecret({ namespace: 'platform', name: 'regcred' });
    await api.hub.replaceNamespacedSecret({ namespace: 'platform', name: 'regcred', body: { ...base, data: undefined, stringData: { token: 'v2' } } });
    await eventually('copies of v2 in both clusters', async () => token(await copy('hub', 'team-a')) === 'v2' && token(await copy('edge', 'team-a')) === 'v2' && token(await copy('edge', 'team-b')) === 'v2');
    await eventually('the consuming Deployment in edge rolled out', async () => (await revision()) > before, 60_000);
  });

  it('re-creates a copy deleted in edge, and copies into a namespace created later in edge', { timeout: 60_000 }, async () => {
    const old = await copy('edge', 'team-b');
    await api.edge.deleteNamespacedSecret({ namespace: 'team-b', name: 'regcred' });
    await eventually('edge/team-b re-created', async () => {
      const c = await copy('edge', 'team-b');
      return c && c.metadata?.uid !== old?.metadata?.uid && token(c) === 'v2';
    });
    await api.edge.createNamespace({ body: { metadata: { name: 'team-c' } } });
    await eventually('a copy in edge/team-c', async () => token(await copy('edge', 'team-c')) === 'v2');
    expect(await copy('hub', 'team-c')).toBeNull();
  });
});

describe('ripple dev --clusters hub,edge --once', () => {
  it('runs the fleet scenario for the article\'s Secret placed in hub and copied to every cluster, and exits 0 when every step converged', { timeout: 180_000 }, async () => {
    const article = readFileSync(join(repo, 'policies', 'blogsecret.yaml'), 'utf8').replace('    name: blogsecret\n', '    name: blogsecret\n    cluster: hub\n').replace('  sync:\n', '  sync:\n    clusters: ["*"]\n');
    expect(article).toContain('cluster: hub');
    const d = serviceDir({ 'blogsecret.yaml': article });
    try {
      const r = await new Promise<{ code: number; out: string }>((done) =>
        execFile(process.execPath, [join(repo, 'cli', 'ripple.ts'), 'dev', '--clusters', 'hub,edge', '--once', '--logs', 'none'], { cwd: d, timeout: 170_000 }, (err, stdout, stderr) =>
          done({ code: err ? ((err as { code?: number }).code ?? 99) : 0, out: stdout + stderr }),
        ),
      );
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('scenario (fleet: hub/platform/blogsecret -> hub, edge)');
      expect(r.out).toMatch(/✓ copies in team-a, team-b of hub, edge: 4 copies equal to the base/);
      expect(r.out).toMatch(/✓ copy edge\/team-b\/blogsecret deleted -> re-created/);
      expect(r.out).toMatch(/✓ Deployment edge\/team-a\/blog rolled out/);
      expect(r.out).toContain('all 4 steps converged');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('refuses --clusters with --kubeconfig, and a malformed or repeated name (exit 2)', { timeout: 60_000 }, async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string }>((done) =>
        execFile(process.execPath, [join(repo, 'cli', 'ripple.ts'), 'dev', ...args, '--once', '--logs', 'none'], { cwd: dir, timeout: 50_000 }, (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 99) : 0, out: stdout + stderr })),
      );
    const both = await run(['--clusters', 'hub,edge', '--kubeconfig', '/dev/null']);
    expect(both.code).toBe(2);
    expect(both.out).toContain('--clusters starts one embedded cluster per name; it cannot be combined with --kubeconfig');
    const twice = await run(['--clusters', 'hub,hub']);
    expect(twice.code).toBe(2);
    expect(twice.out).toContain('--clusters: "hub" is given twice');
    const bad = await run(['--clusters', 'hub,e dge']);
    expect(bad.out).toContain('--clusters: "e dge" is not a cluster name');
    const stray = await run(['--clusters', 'edge,eu']);
    expect(stray.code).toBe(2);
    expect(stray.out).toContain('policies/regcred.yaml: policy regcred: spec.source.cluster: cluster "hub" is not one of --clusters (edge, eu)');
  });
});
