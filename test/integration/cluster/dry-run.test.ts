/**
 * A server dry run never changes anything, wherever the client puts the option: kubectl sends `dryRun` for deletes in
 * the DeleteOptions body, other clients in the query string. Both are read, for delete and deletecollection of every
 * kind, namespaces included; an unknown dryRun value is refused (422) rather than taken for a real write.
 */
import { execFile, spawnSync } from 'node:child_process';
import { request } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

let cluster: EmbeddedCluster;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let dir: string;
let env: NodeJS.ProcessEnv;

function kubectl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
  });
}

/** A raw request with the kubeconfig's credentials: status code and parsed body. */
async function raw(method: string, path: string, body?: unknown): Promise<{ code: number; body: any }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  // Content-Length set: node's client sends a DELETE body unframed otherwise
  const opts: any = { method, headers: text === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } };
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(path, kc.getCurrentCluster()!.server);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let out = '';
      res.on('data', (d) => { out += String(d); });
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: out ? JSON.parse(out) : null }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const secret = (name: string) => ({ metadata: { name }, stringData: { a: 'b' } });
const deployment = (name: string) => ({
  metadata: { name },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
});

async function seed(ns: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await core.createNamespacedSecret({ namespace: ns, body: secret('x') });
  await core.createNamespacedSecret({ namespace: ns, body: secret('y') });
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' }, data: { a: 'b' } } });
  await apps.createNamespacedDeployment({ namespace: ns, body: deployment('x') });
}

/** Everything seed() made is still there, with the same uids. */
async function assertIntact(ns: string, uids: Record<string, string>): Promise<void> {
  expect((await core.readNamespace({ name: ns })).metadata?.uid).toBe(uids.ns);
  expect((await core.readNamespace({ name: ns })).status?.phase).toBe('Active');
  expect((await core.readNamespacedSecret({ name: 'x', namespace: ns })).metadata?.uid).toBe(uids.secret);
  expect((await core.listNamespacedSecret({ namespace: ns })).items.map((s) => s.metadata?.name).sort()).toEqual(['x', 'y']);
  expect((await core.readNamespacedConfigMap({ name: 'x', namespace: ns })).metadata?.uid).toBe(uids.configmap);
  expect((await apps.readNamespacedDeployment({ name: 'x', namespace: ns })).metadata?.uid).toBe(uids.deployment);
}

async function uidsOf(ns: string): Promise<Record<string, string>> {
  return {
    ns: (await core.readNamespace({ name: ns })).metadata!.uid!,
    secret: (await core.readNamespacedSecret({ name: 'x', namespace: ns })).metadata!.uid!,
    configmap: (await core.readNamespacedConfigMap({ name: 'x', namespace: ns })).metadata!.uid!,
    deployment: (await apps.readNamespacedDeployment({ name: 'x', namespace: ns })).metadata!.uid!,
  };
}

beforeAll(async () => {
  cluster = await startCluster();
  kc = cluster.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  dir = mkdtempSync(join(tmpdir(), 'ripple-dry-run-'));
  writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig(), { mode: 0o600 });
  env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasKubectl)('kubectl delete --dry-run=server', () => {
  it.each([
    ['secret x', ['delete', 'secret', 'x']],
    ['configmap x', ['delete', 'configmap', 'x']],
    ['deployment x', ['delete', 'deployment', 'x']],
    ['secret --all (deletecollection)', ['delete', 'secret', '--all']],
    ['all kinds --all', ['delete', 'secret,configmap,deployment', '--all']],
  ])('%s keeps every object', async (_name, args) => {
    const ns = `kd-${Math.random().toString(36).slice(2, 8)}`;
    await seed(ns);
    const uids = await uidsOf(ns);
    const r = await kubectl([...args, '-n', ns, '--dry-run=server']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('(server dry run)');
    await assertIntact(ns, uids);
  });

  it('namespace: the namespace and everything in it stay', async () => {
    await seed('kd-ns');
    const uids = await uidsOf('kd-ns');
    const r = await kubectl(['delete', 'namespace', 'kd-ns', '--dry-run=server']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('namespace "kd-ns" deleted (server dry run)');
    await assertIntact('kd-ns', uids);
  });
});

describe('raw requests: dryRun in the DeleteOptions body or the query string', () => {
  it.each([
    ['body', '/api/v1/namespaces/NS/secrets/x', { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] }, ''],
    ['query', '/api/v1/namespaces/NS/secrets/x', undefined, '?dryRun=All'],
    ['body, deletecollection', '/api/v1/namespaces/NS/secrets', { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'], propagationPolicy: 'Background' }, ''],
    ['query, deletecollection', '/api/v1/namespaces/NS/secrets', undefined, '?dryRun=All'],
    ['body, deployment', '/apis/apps/v1/namespaces/NS/deployments/x', { dryRun: ['All'], propagationPolicy: 'Foreground' }, ''],
    ['body, configmap deletecollection', '/api/v1/namespaces/NS/configmaps', { dryRun: ['All'] }, ''],
    ['body, namespace', '/api/v1/namespaces/NS', { dryRun: ['All'] }, ''],
  ])('%s: answered, nothing deleted', async (_name, path, body, query) => {
    const ns = `raw-${Math.random().toString(36).slice(2, 8)}`;
    await seed(ns);
    const uids = await uidsOf(ns);
    const r = await raw('DELETE', path.replace('NS', ns) + query, body);
    expect(r.code, JSON.stringify(r.body)).toBe(200);
    await assertIntact(ns, uids);
  });

  it('the same request without dryRun deletes (the probe above can tell)', async () => {
    await seed('raw-real');
    const r = await raw('DELETE', '/api/v1/namespaces/raw-real/secrets', { propagationPolicy: 'Background' });
    expect(r.code).toBe(200);
    expect((await core.listNamespacedSecret({ namespace: 'raw-real' })).items).toEqual([]);
  });

  it.each([
    ['body', { dryRun: ['all'] }, '', 'DeleteOptions'],
    ['query', undefined, '?dryRun=true', 'DeleteOptions'],
  ])('an unknown dryRun value in the %s is refused with 422 and deletes nothing', async (_name, body, query, kind) => {
    await seed(`bad-${_name}`);
    const r = await raw('DELETE', `/api/v1/namespaces/bad-${_name}/secrets/x${query}`, body);
    expect(r.code).toBe(422);
    expect(r.body.message).toMatch(new RegExp(`^${kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: .*supported values: "All"`));
    expect((await core.readNamespacedSecret({ name: 'x', namespace: `bad-${_name}` })).metadata?.name).toBe('x');
  });

  it('an unknown dryRun value on create is refused, nothing created', async () => {
    await core.createNamespace({ body: { metadata: { name: 'bad-create' } } });
    const r = await raw('POST', '/api/v1/namespaces/bad-create/secrets?dryRun=yes', secret('z'));
    expect(r.code).toBe(422);
    expect(r.body.message).toMatch(/^CreateOptions.meta.k8s.io "" is invalid: dryRun/);
    expect((await core.listNamespacedSecret({ namespace: 'bad-create' })).items).toEqual([]);
  });
});
