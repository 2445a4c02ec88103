/**
 * The copy modes end to end, no policy at all: embedded cluster (RBAC + admission enforced) -> forwarder (its
 * ServiceAccount, rendered RBAC, its default annotation allow-list) -> local EventBridge -> a rule with the clone
 * pattern `ripple render all` writes for ripple.config.yaml -> the clone handler (group ripple:clone, its rendered
 * ClusterRole + `ripple-clone-copy-modes-*`, the clone identity's admission with the modes' marks). Users annotate
 * their objects as they would with Reflector or Replicator installed.
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
import { REFLECTOR, REPLICATOR } from '../../../functions/clone/annotations/annotations.ts';
import { makeHandler } from '../../../functions/clone/handler.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startEventBridge, type LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { renderFiles } from '../../../render/index.ts';
import { applyRenderedRbac, FORWARDER_IDENTITY } from '../../support/rbac.ts';
import { CLONE_IDENTITY, lambdaContext, poller, quietObservability } from './harness.ts';

const CONFIG = parseConfig(
  `apiVersion: ripple.dev/v1alpha1
kind: RippleConfig
reflector: { enabled: true, namespaces: { exclude: [quiet] } }
replicator: { enabled: true, namespaces: { exclude: [quiet] } }
`,
  'ripple.config.yaml',
);

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
let kubeconfig: string;
/** kubectl, asynchronously (the embedded cluster serves from this very process): users act as they would with Reflector or Replicator. */
function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 20_000, env: { PATH: process.env.PATH, HOME: tmpdir() } }, (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
const secretYaml = (ns: string, name: string, annotations: Record<string, string>, value?: string) => `
apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${ns}, annotations: ${JSON.stringify(annotations)} }
${value === undefined ? '' : `stringData: { k: ${value} }`}
`;

let cluster: EmbeddedCluster;
let bus: LocalEventBridge;
let forwarder: Forwarder;
let admin: Kube;
const handled: unknown[] = [];
const targetErrors: unknown[] = [];
const eventually = poller(() => `handled ${handled.length} events, target errors: ${targetErrors.map(String).join('; ')}; received: ${bus.received().map((e) => JSON.stringify(e)).join('\n')}`);
const value = async (namespace: string, name: string, k = 'k') => {
  const s = await admin.core.readNamespacedSecret({ namespace, name }).catch(() => null);
  return s?.data?.[k] === undefined ? undefined : Buffer.from(s.data[k], 'base64').toString();
};

beforeAll(async () => {
  if (!hasKubectl) return;
  cluster = await startCluster({ authorization: 'RBAC' });
  admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
  kubeconfig = join(mkdtempSync(join(tmpdir(), 'ripple-copy-modes-e2e-')), 'kubeconfig');
  writeFileSync(kubeconfig, cluster.kubeconfig(), { mode: 0o600 });
  for (const ns of [RIPPLE_NAMESPACE, 'platform', 'team-a', 'quiet']) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
  await applyRenderedRbac(admin, [], 'forwarder', 'clone');
  // exactly what `ripple render all` writes for this config: the modes' RBAC, the identity admission, the clone pattern
  const files = renderFiles('all', [], { config: CONFIG });
  const { parseAllDocuments } = await import('yaml');
  for (const f of ['infra/k8s/rbac/clone-copy-modes.yaml', 'infra/k8s/admission/_ripple-identities.yaml']) for (const d of parseAllDocuments(files[f]!)) await admin.objects.create(d.toJS() as KubernetesObject);
  const pattern = JSON.parse(files['events/patterns/clone.json']!);

  const cloneKube = kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), 'local');
  const obs = quietObservability();
  const clone = makeHandler({ config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local' }), kubeFor: async () => cloneKube, policies: () => [], rippleConfig: () => CONFIG, observability: () => obs }) as unknown as (e: unknown, c: unknown) => Promise<unknown>;
  bus = await startEventBridge();
  bus.onTargetError((_r, _e, err) => targetErrors.push(err));
  bus.putRule({ name: 'ripple-clone', eventBusName: 'ripple', pattern, target: async (event) => {
      handled.push(await clone(event, lambdaContext));
    },
  });
  forwarder = await forwardToBus(cluster.kubeConfig(FORWARDER_IDENTITY), bus);
}, 60_000);

afterAll(async () => {
  await stopPipeline({ forwarder, bus, cluster });
});

describe.skipIf(!hasKubectl)('copy modes end to end (cluster -> forwarder -> EventBridge -> clone)', () => {
  it('Reflector auto copies reach a new namespace and come back when deleted; a Replicator pull follows its source; a refused pull stays empty', async () => {
    // Prepare: an auto-reflected Secret
    await kubectl(['apply', '-f', '-'], secretYaml('platform', 'tls', { [REFLECTOR.allowed]: 'true', [REFLECTOR.autoEnabled]: 'true' }, 'cert-1'));
    await eventually('auto copy in team-a', async () => (await value('team-a', 'tls')) === 'cert-1');
    expect(await value('quiet', 'tls')).toBeUndefined();

    // Act: a new namespace
    await kubectl(['create', 'namespace', 'team-b']);
    await eventually('auto copy in the new namespace', async () => (await value('team-b', 'tls')) === 'cert-1');

    // Act: a copy deleted by someone
    await kubectl(['delete', 'secret', 'tls', '-n', 'team-a']);
    await eventually('deleted copy re-created', async () => (await value('team-a', 'tls')) === 'cert-1');

    // Act: Replicator pull, allowed for team-a only
    await kubectl(['apply', '-f', '-'], secretYaml('platform', 'db', { [REPLICATOR.allowed]: 'true', [REPLICATOR.allowedNamespaces]: 'team-a' }, 'pw-1'));
    await kubectl(['apply', '-f', '-'], `${secretYaml('team-a', 'db', { [REPLICATOR.replicateFrom]: 'platform/db' })}---${secretYaml('team-b', 'db', { [REPLICATOR.replicateFrom]: 'platform/db' })}`);
    await eventually('pulled', async () => (await value('team-a', 'db')) === 'pw-1');
    await eventually('refusal reported', async () => (await admin.core.listNamespacedEvent({ namespace: 'team-b' })).items.some((e) => e.reason === 'PullRefused' && e.involvedObject.name === 'db'));
    expect(await value('team-b', 'db')).toBeUndefined();

    // Act: the sources change: the pull target and the auto copies follow
    await kubectl(['patch', 'secret', 'db', '-n', 'platform', '-p', JSON.stringify({ stringData: { k: 'pw-2' } })]);
    await kubectl(['patch', 'secret', 'tls', '-n', 'platform', '-p', JSON.stringify({ stringData: { k: 'cert-2' } })]);
    await eventually('pull target follows', async () => (await value('team-a', 'db')) === 'pw-2');
    await eventually('auto copies follow', async () => (await value('team-a', 'tls')) === 'cert-2' && (await value('team-b', 'tls')) === 'cert-2');

    // Act: the allow annotation removed: the auto copies go
    await kubectl(['annotate', 'secret', 'tls', '-n', 'platform', `${REFLECTOR.autoEnabled}-`]);
    await eventually('auto copies deleted', async () => (await value('team-a', 'tls')) === undefined && (await value('team-b', 'tls')) === undefined);
    expect(targetErrors).toEqual([]);
  }, 60_000);
});
