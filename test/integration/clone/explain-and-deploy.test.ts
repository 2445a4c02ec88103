/**
 * `ripple explain` (the real CLI process, a real kubeconfig) and the deploy-time CloudFormation custom
 * resource (the handler PUTs its answer to the ResponseURL, here a local HTTP server), on the embedded cluster
 * with RBAC enforced.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, CLONE_IDENTITY, lambdaContext, policiesFrom, secretIn, startCloneEnv, type CloneEnv } from './harness.ts';

const POLICY_YAML = `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: blog }
spec:
  source: { kind: Secret, namespace: base, name: blogsecret }
  sync:
    namespaces: { selector: { matchLabels: { tier: blog } } }
  reload: {}
`;
const POLICIES = policiesFrom(POLICY_YAML);

let env: CloneEnv;
let dir: string;
let invoke: (e: unknown) => Promise<any>;

function deployment(namespace: string, name: string, secretName: string | null) {
  return {
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'example/app:1', ...(secretName ? { envFrom: [{ secretRef: { name: secretName } }] } : {}) }] },
      },
    },
  };
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/ripple.ts', ...args], { cwd: join(import.meta.dirname, '../../..'), timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  env = await startCloneEnv(POLICIES);
  const h = env.handler(POLICIES) as unknown as (e: unknown, c: unknown) => Promise<any>;
  invoke = (e) => h(e, lambdaContext);
  dir = mkdtempSync(join(tmpdir(), 'ripple-explain-'));
  writeFileSync(join(dir, 'blog.yaml'), POLICY_YAML);
  const core = env.admin.core;
  for (const [name, labels] of [['base', {}], ['synced', { tier: 'blog' }], ['stale', { tier: 'blog' }], ['fresh', { tier: 'blog' }], ['squat', { tier: 'blog' }], ['other', {}]] as const) {
    await core.createNamespace({ body: { metadata: { name, labels } } });
  }
  await core.createNamespacedSecret({ namespace: 'base', body: { metadata: { name: 'blogsecret' }, stringData: { password: 'one' } } });
  await core.createNamespacedSecret({ namespace: 'squat', body: { metadata: { name: 'blogsecret' }, stringData: { password: 'mine' } } }); // -> report-unmanaged
  await invoke(env.resyncEvent()); // synced + stale + fresh get copies
  await core.deleteNamespacedSecret({ namespace: 'fresh', name: 'blogsecret' }); // -> create
  const stale = await core.readNamespacedSecret({ namespace: 'stale', name: 'blogsecret' });
  stale.data = { password: b64('edited') };
  await core.replaceNamespacedSecret({ namespace: 'stale', name: 'blogsecret', body: stale }); // -> update (data)
  await env.admin.apps.createNamespacedDeployment({ namespace: 'stale', body: deployment('stale', 'web', 'blogsecret') });
  await env.admin.apps.createNamespacedDeployment({ namespace: 'stale', body: deployment('stale', 'batch', null) });
  await env.admin.apps.createNamespacedDeployment({ namespace: 'fresh', body: deployment('fresh', 'api', 'blogsecret') });
});
afterAll(async () => {
  await env?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ripple explain', () => {
  it('prints what would happen per namespace, which parts differ and which workloads would restart; writes nothing', async () => {
    // Prepare
    const kubeconfig = join(dir, 'reader.kubeconfig');
    writeFileSync(kubeconfig, env.cluster.kubeconfig());
    const auditFrom = env.audit.length;
    // Act
    const run = await cli(['explain', '--kubeconfig', kubeconfig, '--policies', dir]);
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const row = (ns: string) => run.stdout.split('\n').find((l) => l.startsWith('blog ') && l.split(/\s+/)[2] === ns) ?? '';
    expect(row('fresh')).toMatch(/\screate\s+-\s+Deployment\/api\s+copy missing/);
    expect(row('stale')).toMatch(/\supdate\s+data\s+Deployment\/web\s+differs in data/);
    expect(row('stale')).not.toContain('batch');
    expect(row('synced')).toMatch(/\sskip\s+-\s+-\s+up to date/);
    expect(row('squat')).toMatch(/\sreport-unmanaged\s.*not owned by ripple/);
    expect(row('other')).toMatch(/\sskip\s.*do not match sync.namespaces.selector/);
    expect(run.stdout).toMatch(/1 to create, 1 to update, 0 to delete, 1 unmanaged, 0 immutable not replaced; nothing was written\./);
    expect(run.stdout).not.toContain(b64('edited'));
    expect(run.stdout).not.toContain('edited');
    const writes = env.audit.slice(auditFrom).filter((e) => ['create', 'update', 'patch', 'delete'].includes(e.verb));
    expect(writes).toEqual([]);
  });

  it('exits non-zero with the file and field when a policy is invalid', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'ripple-explain-bad-'));
    writeFileSync(join(bad, 'p.yaml'), POLICY_YAML.replace('  reload: {}', '    onSourceDelete: sometimes\n  reload: {}'));
    const run = await cli(['explain', '--kubeconfig', join(dir, 'reader.kubeconfig'), '--policies', bad]);
    rmSync(bad, { recursive: true, force: true });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/p\.yaml:\d+:\d+: spec\.sync\.onSourceDelete: .*keep, delete/);
  });
});

describe('the exported handler, configured from the environment as deployed', () => {
  it('reads RIPPLE_KUBECONFIG, RIPPLE_POLICY_DIR and RIPPLE_CLUSTER_NAME on its first invocation, not at import', async () => {
    // Prepare: a kubeconfig file for the clone identity; the module is imported before the environment is set
    const { handler } = await import('../../../functions/clone/handler.ts');
    const file = join(dir, 'clone.kubeconfig');
    writeFileSync(file, env.cluster.kubeconfig(CLONE_IDENTITY));
    Object.assign(process.env, { RIPPLE_KUBECONFIG: file, RIPPLE_POLICY_DIR: dir, RIPPLE_CLUSTER_NAME: 'local', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' });
    await env.admin.core.createNamespace({ body: { metadata: { name: 'from-env', labels: { tier: 'blog' } } } });
    // Act: the serverless schedule input
    const summary = (await (handler as unknown as (e: unknown, c: unknown) => Promise<{ actions: { create: number }; cluster: string }>)({ reason: 'schedule' }, lambdaContext));
    // Assess
    expect(summary.cluster).toBe('local');
    expect(summary.actions.create).toBeGreaterThanOrEqual(1);
    expect(await secretIn(env.admin.core, 'from-env', 'blogsecret')).not.toBeNull();
  });
});

describe('CloudFormation custom resource (deploy-time reconcile)', () => {
  let server: Server;
  let url = '';
  const answers: { method: string; contentType?: string; body: any }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        answers.push({ method: req.method!, contentType: req.headers['content-type'], body: JSON.parse(text) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/presigned?sig=x`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const cfn = (RequestType: string) => ({
    RequestType, ResponseURL: url, StackId: 'arn:aws:cloudformation:eu-west-1:1:stack/ripple/1', RequestId: `req-${RequestType}`, LogicalResourceId: 'PoliciesReconcile',
    ResourceType: 'Custom::RippleReconcile', ResourceProperties: { ServiceToken: 'arn', Clusters: ['local'], PoliciesHash: 'abc' },
  });

  it('Update: reconciles everything, then PUTs SUCCESS with the figures', async () => {
    // Prepare
    await env.admin.core.deleteNamespacedSecret({ namespace: 'synced', name: 'blogsecret' });
    answers.length = 0;
    // Act
    await invoke(cfn('Update'));
    // Assess
    expect(await secretIn(env.admin.core, 'synced', 'blogsecret')).not.toBeNull();
    expect(answers).toHaveLength(1);
    expect(answers[0].method).toBe('PUT');
    expect(answers[0].contentType ?? '').toBe('');
    expect(answers[0].body).toMatchObject({ Status: 'SUCCESS', RequestId: 'req-Update', StackId: 'arn:aws:cloudformation:eu-west-1:1:stack/ripple/1', LogicalResourceId: 'PoliciesReconcile', PhysicalResourceId: 'ripple-clone-resync-local' });
    expect(answers[0].body.Data.Writes).toBeGreaterThanOrEqual(1);
  });

  it('Delete: answers SUCCESS without touching the cluster', async () => {
    answers.length = 0;
    const from = env.audit.length;
    await invoke(cfn('Delete'));
    expect(answers.map((a) => a.body.Status)).toEqual(['SUCCESS']);
    expect(env.audit.slice(from).filter((e) => e.user.username !== 'admin')).toEqual([]);
  });

  it('a transient failure is retried within the invocation; CloudFormation gets one answer, SUCCESS', async () => {
    // Prepare: the first cluster connection fails as a 503 would
    answers.length = 0;
    const { makeHandler } = await import('../../../functions/clone/handler.ts');
    const { kubeFromKubeConfig } = await import('../../../kube/kubeconfig.ts');
    const { RetryableError } = await import('../../../core/errors.ts');
    const { parseRuntimeConfig } = await import('../../../functions/runtime/config.ts');
    const real = kubeFromKubeConfig(env.cluster.kubeConfig(CLONE_IDENTITY), 'local');
    let calls = 0;
    const flaky = makeHandler({
      config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local' }),
      policies: () => POLICIES,
      kubeFor: async () => {
        if (++calls === 1) throw new RetryableError('list namespaces: HTTP 503 (etcd unavailable)');
        return real;
      },
      observability: ((o) => () => o)((await import('./harness.ts')).quietObservability()),
      cfnRetryDelaysMs: [10, 10],
    }) as unknown as (e: unknown, c: unknown) => Promise<unknown>;
    // Act
    await flaky(cfn('Update'), lambdaContext);
    // Assess
    expect(calls).toBe(3); // attempt 1 failed; attempt 2: key check + reconcile
    expect(answers.map((a) => a.body.Status)).toEqual(['SUCCESS']);
  });

  it('a failure is answered FAILED with the reason (not left for CloudFormation to time out)', async () => {
    answers.length = 0;
    const broken = env.handler(POLICIES);
    // the fingerprint key is unreadable for the handler: delete it, keep a copy to restore
    const keySecret = await env.admin.core.readNamespacedSecret({ namespace: 'ripple-system', name: 'ripple-fingerprint-key' });
    await env.admin.core.replaceNamespacedSecret({ namespace: 'ripple-system', name: 'ripple-fingerprint-key', body: { ...keySecret, data: {} } });
    await (broken as unknown as (e: unknown, c: unknown) => Promise<unknown>)(cfn('Create'), lambdaContext);
    await env.admin.core.replaceNamespacedSecret({ namespace: 'ripple-system', name: 'ripple-fingerprint-key', body: { ...keySecret, metadata: { name: 'ripple-fingerprint-key', namespace: 'ripple-system' } } });
    expect(answers.map((a) => a.body.Status)).toEqual(['FAILED']);
    expect(answers[0].body.Reason).toMatch(/ripple-fingerprint-key: data key "key" is missing or empty/);
  });
});
