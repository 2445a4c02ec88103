/**
 * The embedded cluster driven by the real kubectl (v1.32 on PATH), with a kubeconfig file in a temp dir.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startCluster, type AuditEvent, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

let cluster: EmbeddedCluster;
let dir: string;
let env: NodeJS.ProcessEnv;
let core: CoreV1Api;
let apps: AppsV1Api;
const audit: AuditEvent[] = [];

interface Run { code: number; stdout: string; stderr: string }

function kubectl(args: string[], extraEnv: NodeJS.ProcessEnv = {}, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', args, { env: { ...env, ...extraEnv }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function ok(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await kubectl(args, extraEnv);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  if (!hasKubectl) return;
  cluster = await startCluster({ audit: { onEvent: (e) => audit.push(e) } });
  dir = mkdtempSync(join(tmpdir(), 'ripple-kubectl-'));
  writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig(), { mode: 0o600 });
  env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
  const kc = cluster.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasKubectl)('kubectl', () => {
  it('get -A -w prints objects as they are created', async () => {
    await core.createNamespace({ body: { metadata: { name: 'watched' } } });
    const child = spawn('kubectl', ['get', 'configmaps', '-A', '-w', '--no-headers'], { env });
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); });
    const waitFor = async (re: RegExp) => {
      const end = Date.now() + 15_000;
      while (!re.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      // the first object shows once kubectl has listed; the second can then only arrive through the watch
      await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'first' } } });
      await waitFor(/watched\s+first/);
      await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'seen-by-watch' } } });
      await waitFor(/watched\s+seen-by-watch/);
    } finally {
      child.kill();
    }
    expect(out).toMatch(/watched\s+first/);
    expect(out).toMatch(/watched\s+seen-by-watch/);
  });

  it('create secret generic stores base64 data', async () => {
    await ok(['create', 'secret', 'generic', 'db', '--from-literal=user=alice', '--from-literal=pw=s3cret']);
    const s = JSON.parse(await ok(['get', 'secret', 'db', '-o', 'json', '--show-managed-fields']));
    expect(s.data).toEqual({ user: Buffer.from('alice').toString('base64'), pw: Buffer.from('s3cret').toString('base64') });
    expect(s.metadata.managedFields[0].manager).toBe('kubectl-create');
  });

  it.each([
    [['create', 'namespace', 'made-by-create'], 'namespaces', '', 'made-by-create'],
    [['create', 'configmap', 'cfg', '--from-literal=k=v'], 'configmaps', 'default', 'cfg'],
    [['create', 'serviceaccount', 'robot'], 'serviceaccounts', 'default', 'robot'],
    [['create', 'role', 'reader', '--verb=get,list', '--resource=secrets'], 'roles.rbac.authorization.k8s.io', 'default', 'reader'],
    [['create', 'clusterrolebinding', 'crb', '--clusterrole=view', '--group=devs'], 'clusterrolebindings.rbac.authorization.k8s.io', '', 'crb'],
    [['create', 'deployment', 'ported', '--image=img:1', '--port=8080'], 'deployments.apps', 'default', 'ported'],
    [['create', 'service', 'nodeport', 'svc', '--tcp=80:http'], 'services', 'default', 'svc'],
    [['create', 'poddisruptionbudget', 'pdb', '--selector=app=a', '--min-available=50%'], 'poddisruptionbudgets.policy', 'default', 'pdb'],
  ])('%j (protobuf request body)', async (args, resource, ns, name) => {
    await ok(args);
    const obj = JSON.parse(await ok(['get', resource, name, ...(ns ? ['-n', ns] : []), '-o', 'json']));
    expect(obj.metadata.name).toBe(name);
    if (resource === 'configmaps') expect(obj.data).toEqual({ k: 'v' });
    if (resource.startsWith('roles')) expect(obj.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }]);
    if (resource.startsWith('clusterrolebindings')) expect(obj.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'devs' }]);
    if (resource.startsWith('deployments')) expect(obj.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
    if (resource === 'services') {
      expect(obj.spec).toMatchObject({ type: 'NodePort', selector: { app: 'svc' }, clusterIP: expect.stringMatching(/^10\.96\./), ports: [{ name: '80-http', port: 80, targetPort: 'http', protocol: 'TCP' }] });
      expect(obj.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    }
    if (resource.startsWith('poddisruptionbudgets')) expect(obj.spec).toEqual({ minAvailable: '50%', selector: { matchLabels: { app: 'a' } } });
  });

  it('serves OpenAPI v3 (index and per group-version, used by apply and explain) and v2 in JSON', async () => {
    const index = JSON.parse(await ok(['get', '--raw', '/openapi/v3']));
    expect(Object.keys(index.paths)).toEqual(expect.arrayContaining(['api/v1', 'apis/apps/v1', 'apis/rbac.authorization.k8s.io/v1']));
    const apps = JSON.parse(await ok(['get', '--raw', index.paths['apis/apps/v1'].serverRelativeURL]));
    const patch = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
    expect(patch.parameters.map((p: any) => p.name)).toContain('fieldValidation');
    expect(await ok(['explain', 'secret.data'])).toContain('FIELD: data <map[string]string>');
    const v2 = JSON.parse(await ok(['get', '--raw', '/openapi/v2']));
    expect(v2.swagger).toBe('2.0');
    expect(v2.definitions['io.k8s.api.core.v1.Secret']['x-kubernetes-group-version-kind']).toEqual([{ group: '', version: 'v1', kind: 'Secret' }]);
  });

  it('get prints the columns a real cluster prints (server-side Table)', async () => {
    const out = await ok(['get', 'secret', 'db']);
    expect(out.split('\n')[0].split(/\s+/)).toEqual(['NAME', 'TYPE', 'DATA', 'AGE']);
    expect(out.split('\n')[1]).toMatch(/^db\s+Opaque\s+2\s+\d+s$/);
    expect((await ok(['get', 'namespaces', 'default', '--no-headers'])).trim()).toMatch(/^default\s+Active\s+\S+$/);
  });

  it('apply -f creates, then a second apply sends a client-side strategic merge patch (validation on)', async () => {
    const file = join(dir, 'cm.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: "1"\n');
    expect(await ok(['apply', '-f', file])).toContain('configmap/applied created');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: "2"\n  b: "3"\n');
    expect(await ok(['apply', '-f', file])).toContain('configmap/applied configured');
    const cm = await core.readNamespacedConfigMap({ name: 'applied', namespace: 'default' });
    expect(cm.data).toEqual({ a: '2', b: '3' });
    expect(cm.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain('"b":"3"');
    const writes = audit.filter((e) => e.objectRef?.name === 'applied' && ['create', 'patch', 'update'].includes(e.verb));
    expect(writes.map((e) => `${e.verb} ${e.responseStatus.code}`)).toEqual(['create 201', 'patch 200']);
    expect(writes[1].requestURI).toContain('fieldManager=kubectl-client-side-apply');
  });

  it('apply -f refuses unknown fields (kubectl asks for strict validation); --validate=warn stores without them', async () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\n  lables: {a: b}\ndta:\n  a: "1"\n');
    const strict = await kubectl(['apply', '-f', file]);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr.trim()).toBe('Error from server (BadRequest): error when creating "' + file + '": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta", unknown field "metadata.lables"');
    const warned = await kubectl(['create', '-f', file, '--validate=warn']);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('Warning: unknown field "dta"');
    const cm = await core.readNamespacedConfigMap({ name: 'typo', namespace: 'default' });
    expect(cm.data).toBeUndefined();
    expect(cm.metadata?.labels).toBeUndefined();
  });

  it('edit through KUBE_EDITOR saves the edited object', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'editme' }, data: { color: 'blue' } } });
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/color: blue/color: green/" "$1"\n');
    chmodSync(editor, 0o755);
    expect(await ok(['edit', 'configmap', 'editme'], { KUBE_EDITOR: editor })).toContain('configmap/editme edited');
    expect((await core.readNamespacedConfigMap({ name: 'editme', namespace: 'default' })).data).toEqual({ color: 'green' });
  });

  it.each([
    ['strategic', '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"img:2"}]}}}}', (d: any) => d.spec.template.spec.containers.map((c: any) => `${c.name}=${c.image}`).join(','), 'app=img:2,side=img:1'],
    ['merge', '{"metadata":{"labels":{"tier":"web"}}}', (d: any) => d.metadata.labels.tier, 'web'],
    ['json', '[{"op":"replace","path":"/spec/replicas","value":4}]', (d: any) => String(d.spec.replicas), '4'],
  ])('patch --type=%s', async (type, patch, pick, want) => {
    const name = `patched-${type}`;
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name },
        spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'img:1' }, { name: 'side', image: 'img:1' }] } } },
      },
    });
    expect(await ok(['patch', 'deployment', name, `--type=${type}`, '-p', patch])).toContain(`deployment.apps/${name} patched`);
    expect(pick(JSON.parse(await ok(['get', 'deployment', name, '-o', 'json'])))).toBe(want);
  });

  it('delete removes the object', async () => {
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'bye' } } });
    expect(await ok(['delete', 'secret', 'bye'])).toContain('secret "bye" deleted');
    const r = await kubectl(['get', 'secret', 'bye']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error from server (NotFound): secrets "bye" not found');
  });

  it('rollout restart creates a new ReplicaSet revision', async () => {
    await ok(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2']);
    const revisions = async () => (await apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=web' })).items
      .map((rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision']).sort();
    const end = Date.now() + 5000;
    while ((await revisions()).length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(await revisions()).toEqual(['1']);
    expect(await ok(['rollout', 'restart', 'deployment', 'web'])).toContain('deployment.apps/web restarted');
    while ((await revisions()).length < 2 && Date.now() < end + 5000) await new Promise((r) => setTimeout(r, 20));
    expect(await revisions()).toEqual(['1', '2']);
    expect(await ok(['rollout', 'status', 'deployment', 'web', '--timeout=10s'])).toContain('successfully rolled out');
    const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(d.status?.observedGeneration).toBe(d.metadata?.generation);
  });

  it('has a Node and (unscheduled) Pods: get nodes, run, get pods and describe node work', async () => {
    expect((await ok(['get', 'nodes', '--no-headers'])).trim()).toMatch(/^ripple-node\s+Ready\s+<none>\s+\S+\s+v1\.32\.0$/);
    expect(await ok(['run', 'lonely', '--image=busybox'])).toContain('pod/lonely created');
    expect((await ok(['get', 'pod', 'lonely', '--no-headers'])).trim()).toMatch(/^lonely\s+0\/1\s+Pending\s+0\s+\S+$/);
    expect(await ok(['describe', 'node', 'ripple-node'])).toContain('Non-terminated Pods:');
  });

  it('scale changes replicas through the scale subresource', async () => {
    await ok(['create', 'deployment', 'scaled', '--image=img:1']);
    expect(await ok(['scale', 'deployment', 'scaled', '--replicas=3'])).toContain('deployment.apps/scaled scaled');
    const d = await apps.readNamespacedDeployment({ name: 'scaled', namespace: 'default' });
    expect(d.spec?.replicas).toBe(3);
    expect(d.metadata?.generation).toBe(2);
    const scale = JSON.parse(await ok(['get', '--raw', '/apis/apps/v1/namespaces/default/deployments/scaled/scale']));
    expect(scale).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 } });
  });

  it('auth can-i answers from RBAC: yes for the admin, no for a user without bindings', async () => {
    expect((await ok(['auth', 'can-i', 'create', 'secrets'])).trim()).toBe('yes');
    const denied = await kubectl(['auth', 'can-i', 'create', 'secrets', '--as', 'alice']);
    expect(denied.stdout.trim()).toBe('no');
    expect(denied.code).toBe(1);
    await ok(['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice']);
    expect((await ok(['auth', 'can-i', 'create', 'secrets', '--as', 'alice'])).trim()).toBe('yes');
    expect((await kubectl(['auth', 'can-i', 'create', 'secrets', '--as', 'alice', '-n', 'kube-system'])).stdout.trim()).toBe('no');
  });
});
