/**
 * The rendered admission policies (infra/k8s/admission/, applied with `kubectl apply -k` as a user would) on the
 * embedded cluster, driven by kubectl as hostile users whom RBAC lets do everything in question, so that only
 * admission stands in the way: the routes round a protected base that admission closes.
 *
 * - alice: ClusterRole edit everywhere (may create, update and delete Secrets in every namespace, ripple-system too)
 * - dora: may delete namespaces (and nothing else)
 * - the cluster admin (system:masters): the article's allowed actor
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';

const repo = resolve(import.meta.dirname, '../../..');
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const MESSAGE = 'This Secret is protected and may not be altered or deleted.';

let cluster: EmbeddedCluster;
let core: CoreV1Api;
let dir: string;
let env: NodeJS.ProcessEnv;

function kubectl(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = execFile('kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
    if (input !== undefined) child.stdin?.end(input);
  });
}
async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.out}`);
  return r.out;
}
const as = (user: string) => ['--as', user];
const secretYaml = (ns: string, name: string, value: string) => `apiVersion: v1\nkind: Secret\nmetadata: { name: ${name}, namespace: ${ns} }\nstringData: { password: ${value} }\n`;

beforeAll(async () => {
  if (!hasKubectl) return;
  cluster = await startCluster();
  core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  dir = mkdtempSync(join(tmpdir(), 'ripple-admission-routes-'));
  writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig(), { mode: 0o600 });
  env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
  // Prepare: the base, ripple's namespace with its key, the rendered admission policies, and the users' RBAC
  await ok(['create', 'namespace', 'platform']);
  await ok(['create', 'namespace', 'ripple-system']);
  await ok(['create', 'namespace', 'team-a']);
  await ok(['apply', '-f', '-'], secretYaml('platform', 'blogsecret', 'v2'));
  await ok(['apply', '-f', '-'], secretYaml('ripple-system', 'ripple-fingerprint-key', 'k'));
  await ok(['apply', '-k', join(repo, 'infra/k8s/admission')]);
  await ok(['create', 'clusterrolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice']);
  await ok(['create', 'clusterrole', 'namespace-deleter', '--verb=delete,get,list', '--resource=namespaces']);
  await ok(['create', 'clusterrolebinding', 'dora-deletes-namespaces', '--clusterrole=namespace-deleter', '--user=dora']);
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const password = async (ns: string, name: string) => Buffer.from((await core.readNamespacedSecret({ namespace: ns, name })).data!.password, 'base64').toString();

describe.skipIf(!hasKubectl)('admission closes the routes round a protected base', () => {
  it('RBAC alone would let them: alice may create Secrets in platform and ripple-system, dora may delete namespaces', async () => {
    expect((await ok(['auth', 'can-i', 'create', 'secrets', '-n', 'platform', ...as('alice')])).trim()).toBe('yes');
    expect((await ok(['auth', 'can-i', 'delete', 'secrets', '-n', 'ripple-system', ...as('alice')])).trim()).toBe('yes');
    expect((await ok(['auth', 'can-i', 'delete', 'namespaces', ...as('dora')])).split('\n')[0]).toBe('yes');
  });

  it('a namespace deleter cannot delete the namespace that holds the base; the message names the policy and the base', async () => {
    const r = await kubectl(['delete', 'namespace', 'platform', ...as('dora')]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`namespaces "platform" is forbidden: ValidatingAdmissionPolicy 'ripple-protect-blogsecret-namespace'`);
    expect(r.out).toContain('Namespace platform holds Secret platform/blogsecret, protected by ripple policy blogsecret');
    expect((await core.readNamespace({ name: 'platform' })).status?.phase).toBe('Active');
    expect(await password('platform', 'blogsecret')).toBe('v2');
    // another namespace is hers to delete
    await ok(['delete', 'namespace', 'team-a', ...as('dora')]);
  });

  it('nor ripple-system, nor the Secrets in it (snapshots, fingerprint key)', async () => {
    const ns = await kubectl(['delete', 'namespace', 'ripple-system', ...as('dora')]);
    expect(ns.out).toContain(`namespaces "ripple-system" is forbidden: ValidatingAdmissionPolicy 'ripple-protect-system'`);
    const key = await kubectl(['delete', 'secret', 'ripple-fingerprint-key', '-n', 'ripple-system', ...as('alice')]);
    expect(key.out).toContain('only ripple and system:masters may change its Secrets or delete it');
    const forged = await kubectl(['apply', '-f', '-', ...as('alice')], secretYaml('ripple-system', 'ripple-snapshot-blogsecret', 'forged'));
    expect(forged.code).not.toBe(0);
    expect(forged.out).toContain('only ripple and system:masters may change its Secrets or delete it');
    expect(await password('ripple-system', 'ripple-fingerprint-key')).toBe('k');
  });

  it('after an allowed delete, a non-exempt user cannot create the base under its name, by name or by generateName', async () => {
    await ok(['delete', 'secret', 'blogsecret', '-n', 'platform']); // the admin
    const r = await kubectl(['apply', '-f', '-', ...as('alice')], secretYaml('platform', 'blogsecret', 'alice-was-here'));
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`ValidatingAdmissionPolicy 'ripple-protect-blogsecret'`);
    expect(r.out).toContain(MESSAGE);
    const generated = await kubectl(['create', '-f', '-', ...as('alice')], 'apiVersion: v1\nkind: Secret\nmetadata: { generateName: blogsecret, namespace: platform }\n');
    expect(generated.code).toBe(0); // a generated name is never the protected one
    await expect(core.readNamespacedSecret({ namespace: 'platform', name: 'blogsecret' })).rejects.toMatchObject({ code: 404 });
    // other names stay hers
    await ok(['create', 'secret', 'generic', 'other', '-n', 'platform', '--from-literal=a=b', ...as('alice')]);
    // and the admin re-creates the base
    await ok(['apply', '-f', '-'], secretYaml('platform', 'blogsecret', 'v3'));
    expect(await password('platform', 'blogsecret')).toBe('v3');
  });

  it('the namespace controller\'s identity is exempt only for DELETE in a terminating namespace (a stolen token is not enough)', async () => {
    const controller = 'system:serviceaccount:kube-system:namespace-controller';
    await ok(['create', 'clusterrolebinding', 'namespace-controller', '--clusterrole=edit', `--serviceaccount=kube-system:namespace-controller`]);
    const update = await kubectl(['label', 'secret', 'blogsecret', '-n', 'platform', 'x=y', ...as(controller)]);
    expect(update.out).toContain(MESSAGE);
    const del = await kubectl(['delete', 'secret', 'blogsecret', '-n', 'platform', ...as(controller)]);
    expect(del.out).toContain(MESSAGE);
    expect(await password('platform', 'blogsecret')).toBe('v3');
  });

  it('each handler identity, as itself with its rendered RBAC, is held to its job', async () => {
    // Prepare: the rendered RBAC (what a deploy applies), a workload in kube-system and in team-b
    await ok(['apply', '-k', join(repo, 'infra/k8s/rbac')]);
    await ok(['create', 'namespace', 'team-b']);
    for (const ns of ['kube-system', 'team-b']) await ok(['create', 'deployment', 'blog', '--image=blog:1', '-n', ns]);
    const rollout = ['--as', 'arn:aws:sts::1:assumed-role/rollout/fn', '--as-group', 'ripple:rollout'];
    const clone = ['--as', 'arn:aws:sts::1:assumed-role/clone/fn', '--as-group', 'ripple:clone'];
    const protect = ['--as', 'arn:aws:sts::1:assumed-role/protect/fn', '--as-group', 'ripple:protect'];
    const restart = JSON.stringify({ spec: { template: { metadata: { annotations: { 'ripple.dev/restarted-for': 'Secret/blogsecret@x' } } } } });

    // rollout: the restart annotation in a team namespace, and nothing else
    await ok(['patch', 'deployment', 'blog', '-n', 'team-b', '-p', restart, ...rollout]);
    const system = await kubectl(['patch', 'deployment', 'blog', '-n', 'kube-system', '-p', restart, ...rollout]);
    expect(system.out).toContain("ripple's rollout handler never restarts workloads in kube-* or ripple-system");
    const image = await kubectl(['set', 'image', 'deployment/blog', 'blog=evil:1', '-n', 'team-b', ...rollout]);
    expect(image.out).toContain("ripple's rollout handler may change only the pod template's ripple.dev/restarted-* annotations");

    // clone: marked copies outside system namespaces only
    const marked = (ns: string) => `apiVersion: v1\nkind: Secret\nmetadata: { name: blogsecret, namespace: ${ns}, labels: { app.kubernetes.io/managed-by: ripple } }\nstringData: { password: copy }\n`;
    await ok(['create', '-f', '-', ...clone], marked('team-b'));
    const kubeSystem = await kubectl(['create', '-f', '-', ...clone], marked('kube-system'));
    expect(kubeSystem.out).toContain("ripple's clone handler never writes in kube-* or ripple-system");
    // a team's own Secret that happens to have the copy's name: RBAC lets clone write that name, admission does not
    await ok(['create', 'namespace', 'team-c']);
    await ok(['create', 'secret', 'generic', 'blogsecret', '-n', 'team-c', '--from-literal=a=theirs']);
    const takeover = await kubectl(['label', 'secret', 'blogsecret', '-n', 'team-c', 'app.kubernetes.io/managed-by=ripple', ...clone]);
    expect(takeover.out).toContain("ripple's clone handler changes only objects that carry app.kubernetes.io/managed-by: ripple");

    // protect: never the fingerprint key, and only its own snapshot names
    const key = await kubectl(['delete', 'secret', 'ripple-fingerprint-key', '-n', 'ripple-system', ...protect]);
    expect(key.code).not.toBe(0);
    expect(await password('ripple-system', 'ripple-fingerprint-key')).toBe('k');
    const other = await kubectl(['create', 'secret', 'generic', 'exfiltrated', '-n', 'ripple-system', '--from-literal=a=b', ...protect]);
    expect(other.out).toContain('only ripple and system:masters may change its Secrets or delete it');
    await ok(['create', 'secret', 'generic', 'ripple-snapshot-blogsecret', '-n', 'ripple-system', '--from-literal=a=b', ...protect]);
  });

  it('the allowed actor deletes the namespace and the deletion completes (the namespace controller\'s deletes pass admission)', async () => {
    await ok(['delete', 'namespace', 'platform', '--wait=true', '--timeout=15s']);
    await expect(core.readNamespace({ name: 'platform' })).rejects.toMatchObject({ code: 404 });
  });

  it('protect, as itself, can get its access back in a re-created namespace, and nothing more', async () => {
    const protect = ['--as', 'arn:aws:sts::1:assumed-role/protect/fn', '--as-group', 'ripple:protect'];
    const binding = (ns: string, name: string, role: string, group = 'ripple:protect') =>
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: ${name}, namespace: ${ns} }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${role} }\nsubjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: "${group}" }]\n`;
    // without its RoleBinding (gone with the namespace) it cannot touch the base's namespace
    await ok(['create', 'namespace', 'platform', ...protect]);
    const before = await kubectl(['get', 'secret', 'blogsecret', '-n', 'platform', ...protect]);
    expect(before.out).toMatch(/forbidden/i);
    await ok(['create', '-f', '-', ...protect], binding('platform', 'ripple-protect', 'ripple-protect'));
    await ok(['apply', '-f', '-', ...protect], secretYaml('platform', 'blogsecret', 'restored'));
    expect(await password('platform', 'blogsecret')).toBe('restored');
    // nothing more: another namespace, another binding, a wider role, another Secret in the base's namespace
    const ns = await kubectl(['create', 'namespace', 'team-z', ...protect]);
    expect(ns.out).toContain("ripple's protect handler only re-creates a namespace that holds a protected object");
    const wider = await kubectl(['create', '-f', '-', ...protect], binding('platform', 'ripple-protect-2', 'admin'));
    expect(wider.code).not.toBe(0);
    const otherSubject = await kubectl(['create', '-f', '-', ...protect], binding('platform', 'ripple-protect', 'ripple-protect', 'system:authenticated'));
    expect(otherSubject.code).not.toBe(0);
    const elsewhere = await kubectl(['create', '-f', '-', ...protect], binding('team-b', 'ripple-protect', 'ripple-protect'));
    expect(elsewhere.out).toContain("ripple's protect handler only re-creates its own RoleBinding");
    const other = await kubectl(['create', 'secret', 'generic', 'planted', '-n', 'platform', '--from-literal=a=b', ...protect]);
    expect(other.out).toContain("ripple's protect handler writes only the protected objects");
    const del = await kubectl(['delete', 'namespace', 'team-b', ...protect]);
    expect(del.code).not.toBe(0);
  });

  it('clone may read a protected source\'s snapshot (it copies from it) and write nothing in ripple-system', async () => {
    const clone = ['--as', 'arn:aws:sts::1:assumed-role/clone/fn', '--as-group', 'ripple:clone'];
    await ok(['get', 'secret', 'ripple-snapshot-blogsecret', '-n', 'ripple-system', ...clone]);
    const write = await kubectl(['label', 'secret', 'ripple-snapshot-blogsecret', '-n', 'ripple-system', 'x=y', ...clone]);
    expect(write.code).not.toBe(0);
  });
});
