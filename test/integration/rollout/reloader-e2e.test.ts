/**
 * The Reloader mode end to end, no policy at all: embedded cluster (RBAC enforced) -> forwarder (its
 * ServiceAccount, rendered RBAC) -> local EventBridge -> a rule with the rollout pattern rendered from
 * ripple.config.yaml -> the rollout handler (group ripple:rollout, its rendered ClusterRole + the mode's
 * `ripple-rollout-reloader`). Users act with kubectl, as they would with Reloader installed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { parseConfig } from '../../../core/config/load.ts';
import type { Forwarder } from '../../../forwarder/index.ts';
import { forwardToBus, stopPipeline } from '../../support/forwarder.ts';
import { makeHandler } from '../../../functions/rollout/handler.ts';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startEventBridge, type LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { renderFiles } from '../../../render/index.ts';
import { applyRenderedRbac, FORWARDER_IDENTITY, handlerIdentity } from '../../support/rbac.ts';
import { sqsBatch, testObservability } from './fixture.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

const CONFIG = parseConfig(
  `apiVersion: ripple.dev/v1alpha1
kind: RippleConfig
reloader:
  enabled: true
  namespaces: { exclude: [quiet] }
  reloadOnCreate: true
  reloadOnDelete: true
`,
  'ripple.config.yaml',
);

let cluster: EmbeddedCluster;
let bus: LocalEventBridge;
let forwarder: Forwarder;
let admin: Kube;
let kubeconfig: string;
const delivered: unknown[] = [];
const failures: unknown[] = [];

/** kubectl, asynchronously: the embedded cluster serves from this very process. */
function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 20_000, env: { PATH: process.env.PATH, HOME: tmpdir() } }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
const generation = async (ns: string, name: string) => (await admin.apps.readNamespacedDeployment({ name, namespace: ns })).metadata?.generation ?? 0;
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; ${delivered.length} events delivered, failures: ${JSON.stringify(failures)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
/** Wait until the bus has delivered `n` more events and the handler is idle. */
async function settle(from: number, n = 1) {
  await eventually(`${n} more rollout deliveries`, async () => delivered.length >= from + n);
  await new Promise((r) => setTimeout(r, 200));
}

const app = (ns: string, name: string, secret: string, annotations: Record<string, string>) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  annotations: ${JSON.stringify(annotations)}
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: app
          image: registry.example/app:1
          envFrom: [{ secretRef: { name: ${secret} } }]
`;
const secretYaml = (ns: string, name: string, value: string) => `
apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${ns} }
stringData: { value: ${value} }
`;

beforeAll(async () => {
  if (!hasKubectl) return;
  cluster = await startCluster({ authorization: 'RBAC' });
  admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
  const dir = mkdtempSync(join(tmpdir(), 'ripple-reloader-e2e-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, cluster.kubeconfig(), { mode: 0o600 });
  for (const ns of [RIPPLE_NAMESPACE, 'shop', 'quiet']) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
  await applyRenderedRbac(admin, [], 'forwarder', 'rollout');
  // exactly what `ripple render all` writes for this config: the mode's RBAC and the rollout pattern
  const files = renderFiles('all', [], { config: CONFIG });
  const { parseAllDocuments } = await import('yaml');
  for (const d of parseAllDocuments(files['infra/k8s/rbac/rollout-reloader.yaml'])) await admin.objects.create(d.toJS() as KubernetesObject);
  const pattern = JSON.parse(files['events/patterns/rollout.json']);

  const rollout = kubeFromKubeConfig(cluster.kubeConfig(handlerIdentity('rollout')), 'local');
  const handler = makeHandler({ kubeFor: async () => rollout, policies: () => [], config: () => CONFIG, observability: testObservability('rollout'), sleep: async () => {} });
  bus = await startEventBridge();
  bus.onTargetError((_r, _e, err) => failures.push(String(err)));
  bus.putRule({
    name: 'ripple-rollout',
    eventBusName: 'ripple',
    pattern,
    target: async (event) => {
      const res = (await handler(sqsBatch([event as object]), {} as never)) as { batchItemFailures: unknown[] };
      if (res.batchItemFailures.length) failures.push(res.batchItemFailures);
      delivered.push(event);
    },
  });
  forwarder = await forwardToBus(cluster.kubeConfig(FORWARDER_IDENTITY), bus);
}, 60_000);

afterAll(async () => {
  await stopPipeline({ forwarder, bus, cluster });
});

describe.skipIf(!hasKubectl)('reloader mode end to end (kubectl -> forwarder -> EventBridge -> rollout)', () => {
  it('applied together: no second rollout; a later edit: exactly one; excluded namespace: none; delete: one', async () => {
    // Act 1: the Secret and its Deployment in one apply (kubectl apply -k / helm install)
    let n = delivered.length;
    await kubectl(['apply', '-f', '-'], `${secretYaml('shop', 'db', 'one')}---${app('shop', 'web', 'db', { 'reloader.stakater.com/auto': 'true' })}`);
    await settle(n);
    // Assess: the Created event reached the handler (reloadOnCreate is on) and did not roll the new Deployment
    expect(await generation('shop', 'web')).toBe(1);

    // Act 2: the Secret is edited
    n = delivered.length;
    await kubectl(['patch', 'secret', 'db', '-n', 'shop', '-p', JSON.stringify({ stringData: { value: 'two' } })]);
    await eventually('web rolled out', async () => (await generation('shop', 'web')) === 2);
    await settle(n);
    expect(await generation('shop', 'web')).toBe(2);

    // Act 3: a label-only edit (not a content change) and the same content again: nothing
    await kubectl(['label', 'secret', 'db', '-n', 'shop', 'team=web']);
    await kubectl(['patch', 'secret', 'db', '-n', 'shop', '-p', JSON.stringify({ stringData: { value: 'two' } })]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await generation('shop', 'web')).toBe(2);

    // Act 4: the same in the excluded namespace: nothing
    await kubectl(['apply', '-f', '-'], `${app('quiet', 'web', 'db', { 'reloader.stakater.com/auto': 'true' })}`);
    await new Promise((r) => setTimeout(r, 1100));
    n = delivered.length;
    await kubectl(['apply', '-f', '-'], secretYaml('quiet', 'db', 'one'));
    await kubectl(['patch', 'secret', 'db', '-n', 'quiet', '-p', JSON.stringify({ stringData: { value: 'two' } })]);
    await settle(n, 2);
    expect(await generation('quiet', 'web')).toBe(1);

    // Act 5: delete (reloadOnDelete is on)
    await kubectl(['delete', 'secret', 'db', '-n', 'shop']);
    await eventually('web rolled out for the deletion', async () => (await generation('shop', 'web')) === 3);
    expect(failures).toEqual([]);
  });
});
