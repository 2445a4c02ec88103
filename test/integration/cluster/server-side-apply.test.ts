/**
 * Server-side apply against the embedded cluster, driven by the real kubectl (v1.32 on PATH) and by
 * @kubernetes/client-node 2.x.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { CoreV1Api, PatchStrategy, setHeaderOptions, Watch, type KubeConfig } from '@kubernetes/client-node';
import { startCluster, type AuditEvent, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

let cluster: EmbeddedCluster;
let kc: KubeConfig;
let core: CoreV1Api;
let dir: string;
let env: NodeJS.ProcessEnv;
const audit: AuditEvent[] = [];

interface Run { code: number; stdout: string; stderr: string }

function kubectl(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Writes a manifest into the temp dir and returns its path. */
function manifest(name: string, obj: unknown): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, YAML.stringify(obj));
  return file;
}

const configMap = (name: string, data: Record<string, string>, labels?: Record<string, string>) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data,
});

async function getYaml(kind: string, name: string): Promise<any> {
  return YAML.parse(await ok(['get', kind, name, '-o', 'yaml', '--show-managed-fields']));
}

/** Managers owning a field path (FieldsV1 keys, e.g. ['f:data', 'f:key']) in an object's managedFields. */
function owners(obj: any, path: string[]): string[] {
  return (obj.metadata.managedFields ?? [])
    .filter((e: any) => path.reduce((node: any, k) => node?.[k], e.fieldsV1) !== undefined)
    .map((e: any) => `${e.manager}/${e.operation}`)
    .sort();
}

/** A raw PATCH with the kubeconfig's credentials: status code and parsed body. */
async function rawPatch(path: string, contentType: string, body: string): Promise<{ code: number; body: any }> {
  const opts: any = { method: 'PATCH', headers: { 'Content-Type': contentType } };
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(path, kc.getCurrentCluster()!.server);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let text = '';
      res.on('data', (d) => { text += String(d); });
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  cluster = await startCluster({ audit: { onEvent: (e) => audit.push(e) } });
  kc = cluster.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  dir = mkdtempSync(join(tmpdir(), 'ripple-ssa-'));
  writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig(), { mode: 0o600 });
  env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasKubectl)('kubectl apply --server-side', () => {
  it('creates a ConfigMap with an Apply managedFields entry for exactly the applied fields', async () => {
    // Act
    const out = await ok(['apply', '--server-side', '-f', manifest('cm1', configMap('ssa-cm', { a: '1', b: '2' }, { app: 'x' }))]);
    // Assess
    expect(out.trim()).toBe('configmap/ssa-cm serverside-applied');
    const cm = await getYaml('configmap', 'ssa-cm');
    expect(cm.data).toEqual({ a: '1', b: '2' });
    expect(cm.metadata.managedFields).toEqual([{
      manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: expect.any(String), fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } },
    }]);
    // the write went through the ordinary write path: a patch in the audit log, answered 201
    expect(audit.some((e) => e.verb === 'patch' && e.objectRef?.name === 'ssa-cm' && e.responseStatus?.code === 201)).toBe(true);
  });

  it('re-applying without a field removes it; a no-op apply writes nothing', async () => {
    await ok(['apply', '--server-side', '-f', manifest('cm2', configMap('ssa-prune', { a: '1', b: '2' }, { app: 'x', tier: 'web' }))]);
    // Act
    await ok(['apply', '--server-side', '-f', manifest('cm2', configMap('ssa-prune', { a: '1' }, { app: 'x' }))]);
    // Assess
    const cm = await getYaml('configmap', 'ssa-prune');
    expect(cm.data).toEqual({ a: '1' });
    expect(cm.metadata.labels).toEqual({ app: 'x' });
    await ok(['apply', '--server-side', '-f', manifest('cm2', configMap('ssa-prune', { a: '1' }, { app: 'x' }))]);
    expect((await getYaml('configmap', 'ssa-prune')).metadata.resourceVersion).toBe(cm.metadata.resourceVersion);
  });

  it('creates a Deployment; removing a container and an env entry from the manifest removes them', async () => {
    const deployment = (containers: unknown[]) => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa-web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } },
    });
    const app = (env: unknown[]) => ({ name: 'app', image: 'nginx:1', ports: [{ containerPort: 80 }], env });
    await ok(['apply', '--server-side', '-f', manifest('d', deployment([app([{ name: 'A', value: '1' }, { name: 'B', value: '2' }]), { name: 'side', image: 'busybox:1' }]))]);
    let d = await getYaml('deployment', 'ssa-web');
    expect(d.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['app', 'side']);
    expect(d.spec.strategy.type).toBe('RollingUpdate'); // defaulted as for any write
    const applied = d.metadata.managedFields.find((e: any) => e.operation === 'Apply');
    expect(applied.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}']['f:ports'])
      .toEqual({ 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } });
    // Act
    await ok(['apply', '--server-side', '-f', manifest('d', deployment([app([{ name: 'A', value: '1' }])]))]);
    // Assess
    d = await getYaml('deployment', 'ssa-web');
    expect(d.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['app']);
    expect(d.spec.template.spec.containers[0].env).toEqual([{ name: 'A', value: '1' }]);
    expect(d.metadata.generation).toBe(2);
  });

  it.each([
    ['kubectl create', ['create', 'configmap', 'ssa-c1', '--from-literal=key=a'], 'ssa-c1', '"kubectl-create" using v1'],
    ['client-side apply', null, 'ssa-c2', '"kubectl-client-side-apply" using v1'],
    ['another applier', ['apply', '--server-side', '--field-manager=gitops'], 'ssa-c3', '"gitops"'],
  ])('a different value for a field set by %s conflicts (exit 1); --force-conflicts takes it', async (_who, setup, name, manager) => {
    // Prepare
    if (setup === null) await ok(['apply', '-f', manifest(name, configMap(name, { key: 'a' }))]);
    else if (setup[0] === 'apply') await ok([...setup, '-f', manifest(name, configMap(name, { key: 'a' }))]);
    else await ok(setup);
    const mine = manifest(`${name}-mine`, configMap(name, { key: 'b' }));
    // Act
    const r = await kubectl(['apply', '--server-side', '-f', mine]);
    // Assess
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: Apply failed with 1 conflict: conflict with ${manager}: .data.key`);
    expect(r.stderr).toContain('--force-conflicts');
    expect((await getYaml('configmap', name)).data.key).toBe('a');
    // Act: force
    await ok(['apply', '--server-side', '--force-conflicts', '-f', mine]);
    const cm = await getYaml('configmap', name);
    expect(cm.data.key).toBe('b');
    expect(owners(cm, ['f:data', 'f:key'])).toEqual(['kubectl/Apply']);
  });

  it('applying the value another manager set shares the field without conflict', async () => {
    await ok(['create', 'configmap', 'ssa-share', '--from-literal=key=a']);
    await ok(['apply', '--server-side', '-f', manifest('share', configMap('ssa-share', { key: 'a', mine: '1' }))]);
    const cm = await getYaml('configmap', 'ssa-share');
    expect(owners(cm, ['f:data', 'f:key'])).toEqual(['kubectl-create/Update', 'kubectl/Apply']);
  });

  it('--dry-run=server writes nothing, creating or changing', async () => {
    const r = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', manifest('dry', configMap('ssa-dry', { a: '1' }))]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('serverside-applied (server dry run)');
    expect((await kubectl(['get', 'configmap', 'ssa-dry'])).stderr).toContain('NotFound');
    await ok(['apply', '--server-side', '-f', manifest('dry', configMap('ssa-dry', { a: '1' }))]);
    await ok(['apply', '--server-side', '--dry-run=server', '-f', manifest('dry', configMap('ssa-dry', { a: '2' }))]);
    expect((await getYaml('configmap', 'ssa-dry')).data).toEqual({ a: '1' });
  });

  it('a user without patch is Forbidden', async () => {
    const r = await kubectl(['apply', '--server-side', '--as', 'mallory', '-f', manifest('rbac', configMap('ssa-rbac', { a: '1' }))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('User "mallory" cannot patch resource "configmaps" in API group "" in the namespace "default"');
    expect((await kubectl(['get', 'configmap', 'ssa-rbac'])).stderr).toContain('NotFound');
  });

  it('--subresource=status applies .status alone, recorded with subresource: status', async () => {
    const pdb = (extra: Record<string, unknown>) => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'ssa-pdb' }, ...extra });
    await ok(['apply', '--server-side', '-f', manifest('pdb', pdb({ spec: { minAvailable: 1, selector: { matchLabels: { app: 'x' } } } }))]);
    // Act: the status configuration also names a spec field, which a status apply leaves alone
    await ok(['apply', '--server-side', '--subresource=status', '--field-manager=pdb-ctl', '-f',
      manifest('pdb-status', pdb({ spec: { minAvailable: 5 }, status: { currentHealthy: 3, desiredHealthy: 1, disruptionsAllowed: 2, expectedPods: 3 } }))]);
    // Assess
    const got = await getYaml('pdb', 'ssa-pdb');
    expect(got.status.disruptionsAllowed).toBe(2);
    expect(got.spec.minAvailable).toBe(1);
    const entry = got.metadata.managedFields.find((e: any) => e.manager === 'pdb-ctl');
    expect(entry).toMatchObject({ operation: 'Apply', subresource: 'status' });
    expect(Object.keys(entry.fieldsV1)).toEqual(['f:status']);
  });

  it('admission sees CREATE for an apply that creates and UPDATE for one that changes', async () => {
    await ok(['apply', '--server-side', '-f', manifest('vap', {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'no-forbidden-key' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'], resourceNames: ['ssa-guarded'] }] },
        validations: [{ expression: "!has(object.data) || !('forbidden' in object.data)", messageExpression: "'no forbidden key on ' + request.operation", reason: 'Forbidden' }],
      },
    })]);
    await ok(['apply', '--server-side', '-f', manifest('vapb', {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'no-forbidden-key' },
      spec: { policyName: 'no-forbidden-key', validationActions: ['Deny'] },
    })]);
    const denied = await kubectl(['apply', '--server-side', '-f', manifest('g1', configMap('ssa-guarded', { forbidden: 'x' }))]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('no forbidden key on CREATE');
    await ok(['apply', '--server-side', '-f', manifest('g2', configMap('ssa-guarded', { fine: 'x' }))]);
    const deniedUpdate = await kubectl(['apply', '--server-side', '-f', manifest('g3', configMap('ssa-guarded', { fine: 'x', forbidden: 'x' }))]);
    expect(deniedUpdate.code).toBe(1);
    expect(deniedUpdate.stderr).toContain('no forbidden key on UPDATE');
    expect((await getYaml('configmap', 'ssa-guarded')).data).toEqual({ fine: 'x' });
  });

  it('a configuration with a field the type does not have is refused, as structured-merge-diff refuses it', async () => {
    const r = await kubectl(['apply', '--server-side', '--validate=false', '-f', manifest('unknown', { ...configMap('ssa-unknown', {}), dta: { a: '1' } })]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('Error from server: failed to create typed patch object (default/ssa-unknown; /v1, Kind=ConfigMap): .dta: field not declared in schema');
  });

  it('stringData in an applied Secret lands in data', async () => {
    await ok(['apply', '--server-side', '-f', manifest('sec', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ssa-secret' }, stringData: { user: 'alice' } })]);
    const s = await getYaml('secret', 'ssa-secret');
    expect(s.data).toEqual({ user: Buffer.from('alice').toString('base64') });
    expect(s.stringData).toBeUndefined();
  });
});

describe('server-side apply from @kubernetes/client-node', () => {
  it('patchNamespacedConfigMap with the apply content type creates, then conflicts, then forces', async () => {
    const opts = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    // Act: create
    const created = await core.patchNamespacedConfigMap({ name: 'cn-ssa', namespace: 'default', fieldManager: 'ripple-test', body: configMap('cn-ssa', { k: 'v1' }) }, opts);
    // Assess
    expect(created.data).toEqual({ k: 'v1' });
    expect(created.metadata?.managedFields?.map((e) => [e.manager, e.operation])).toEqual([['ripple-test', 'Apply']]);
    // another manager applying a different value conflicts: 409 with FieldManagerConflict causes
    let failure: any;
    try {
      await core.patchNamespacedConfigMap({ name: 'cn-ssa', namespace: 'default', fieldManager: 'other', body: configMap('cn-ssa', { k: 'v2' }) }, opts);
    } catch (err) {
      failure = err;
    }
    expect(failure?.code).toBe(409);
    const status = typeof failure.body === 'string' ? JSON.parse(failure.body) : failure.body;
    expect(status).toMatchObject({ reason: 'Conflict', message: 'Apply failed with 1 conflict: conflict with "ripple-test": .data.k',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "ripple-test"', field: '.data.k' }] } });
    const forced = await core.patchNamespacedConfigMap({ name: 'cn-ssa', namespace: 'default', fieldManager: 'other', force: true, body: configMap('cn-ssa', { k: 'v2' }) }, opts);
    expect(forced.data).toEqual({ k: 'v2' });
    expect(forced.metadata?.managedFields?.map((e) => e.manager)).toEqual(['other']);
  });

  it('watchers see ADDED for an apply that creates and MODIFIED for one that changes', async () => {
    const events: string[] = [];
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const ctl = await new Watch(kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: list.metadata?.resourceVersion, fieldSelector: 'metadata.name=cn-watch' },
      (type, obj) => events.push(`${type} ${JSON.stringify(obj.data)}`), () => {});
    try {
      const opts = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
      await core.patchNamespacedConfigMap({ name: 'cn-watch', namespace: 'default', fieldManager: 'w', body: configMap('cn-watch', { a: '1' }) }, opts);
      await core.patchNamespacedConfigMap({ name: 'cn-watch', namespace: 'default', fieldManager: 'w', body: configMap('cn-watch', { a: '2' }) }, opts);
      const end = Date.now() + 10_000;
      while (events.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    } finally {
      ctl.abort();
    }
    expect(events).toEqual(['ADDED {"a":"1"}', 'MODIFIED {"a":"2"}']);
  });

  it('managedFields a write sets itself replace the stored ones ([{}] clears them); re-sending what was read changes nothing', async () => {
    const opts = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    await core.patchNamespacedConfigMap({ name: 'cn-mf', namespace: 'default', fieldManager: 'm', body: configMap('cn-mf', { a: '1' }) }, opts);
    // a replace of what was read (client-node re-encodes the times) is a no-op: same resourceVersion
    const read = await core.readNamespacedConfigMap({ name: 'cn-mf', namespace: 'default' });
    const replaced = await core.replaceNamespacedConfigMap({ name: 'cn-mf', namespace: 'default', body: read });
    expect(replaced.metadata?.resourceVersion).toBe(read.metadata?.resourceVersion);
    // Act: clear them with a JSON patch
    const cleared = await core.patchNamespacedConfigMap({ name: 'cn-mf', namespace: 'default', body: [{ op: 'replace', path: '/metadata/managedFields', value: [{}] }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    // Assess
    expect(cleared.metadata?.managedFields).toBeUndefined();
    expect(cleared.data).toEqual({ a: '1' });
  });

  it('refuses an apply without fieldManager (422), a mismatched name (400), and unknown patch types (415)', async () => {
    const body = JSON.stringify(configMap('raw-ssa', { a: '1' }));
    const noManager = await rawPatch('/api/v1/namespaces/default/configmaps/raw-ssa', 'application/apply-patch+yaml', body);
    expect(noManager.code).toBe(422);
    expect(noManager.body.message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const wrongName = await rawPatch('/api/v1/namespaces/default/configmaps/other-name?fieldManager=m', 'application/apply-patch+yaml', body);
    expect(wrongName.code).toBe(400);
    expect(wrongName.body.message).toBe('the name of the object (raw-ssa) does not match the name on the URL (other-name)');
    const yaml = await rawPatch('/api/v1/namespaces/default/configmaps/raw-ssa?fieldManager=m', 'application/apply-patch+yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw-ssa\ndata:\n  a: "1"\n');
    expect(yaml.code).toBe(201);
    const unsupported = await rawPatch('/api/v1/namespaces/default/configmaps/raw-ssa', 'application/json', '{}');
    expect(unsupported.code).toBe(415);
    expect(unsupported.body.message).toContain('application/apply-patch+yaml');
  });
});
