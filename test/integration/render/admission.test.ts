/**
 * The rendered admission policy and protect RBAC, applied with the real kubectl to the embedded cluster: the
 * article's `k -n platform delete secret/blogsecret` is denied with the policy's message, CREATE is unaffected,
 * the exempt actors (system:masters, ripple's protect handler) get through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { HANDLER_GROUPS } from '../../../core/constants.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const MESSAGE = 'This Secret is protected and may not be altered or deleted.';

let cluster: EmbeddedCluster;
let dir: string;
const kubeconfigs: Record<string, string> = {};

interface Run { code: number; stdout: string; stderr: string }
function kubectl(as: string, args: string[]): Promise<Run> {
  const env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: kubeconfigs[as], KUBECACHEDIR: join(dir, `cache-${as}`) };
  return new Promise((resolve) => {
    execFile('kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
async function ok(as: string, args: string[]): Promise<string> {
  const r = await kubectl(as, args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} as ${as} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  if (!hasKubectl) return;
  cluster = await startCluster();
  dir = mkdtempSync(join(tmpdir(), 'ripple-admission-'));
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text, { mode: 0o600 });
    kubeconfigs[name] = f;
  };
  write('admin', cluster.kubeconfig());
  write('alice', cluster.kubeconfig({ user: 'alice', groups: ['developers'] }));
  write('protect', cluster.kubeconfig({ user: 'ripple-protect', groups: [HANDLER_GROUPS.protect] }));

  // Prepare: namespaces, the base Secret, alice may edit in platform (RBAC lets her; only admission stops her).
  await ok('admin', ['create', 'namespace', 'platform']);
  await ok('admin', ['create', 'namespace', 'ripple-system']);
  await ok('admin', ['-n', 'platform', 'create', 'secret', 'generic', 'blogsecret', '--from-literal=value=hello']);
  await ok('admin', ['-n', 'platform', 'create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice']);
  await ok('admin', ['apply', '-f', 'infra/k8s/admission/blogsecret.yaml']);
  await ok('admin', ['apply', '-f', 'infra/k8s/rbac/protect.yaml']);
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasKubectl)('rendered ValidatingAdmissionPolicy on the embedded cluster', () => {
  it('denies the article\'s delete by a non-exempt user, with the policy\'s message', async () => {
    const r = await kubectl('alice', ['-n', 'platform', 'delete', 'secret/blogsecret']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`secrets "blogsecret" is forbidden: ValidatingAdmissionPolicy 'ripple-protect-blogsecret' with binding 'ripple-protect-blogsecret' denied request: ${MESSAGE}`);
    expect(await ok('admin', ['-n', 'platform', 'get', 'secret', 'blogsecret', '-o', 'name'])).toBe('secret/blogsecret\n');
  });

  it('denies an update (kubectl label = PATCH -> UPDATE)', async () => {
    const r = await kubectl('alice', ['-n', 'platform', 'label', 'secret', 'blogsecret', 'touched=yes']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(MESSAGE);
  });

  it('leaves CREATE and other objects alone', async () => {
    await ok('alice', ['-n', 'platform', 'create', 'secret', 'generic', 'other', '--from-literal=a=b']);
    await ok('alice', ['-n', 'platform', 'label', 'secret', 'other', 'touched=yes']);
    await ok('alice', ['-n', 'platform', 'delete', 'secret', 'other']);
  });

  it('lets ripple\'s protect handler update it, with exactly its rendered RBAC', async () => {
    const core = cluster.kubeConfig({ user: 'ripple-protect', groups: [HANDLER_GROUPS.protect] }).makeApiClient(CoreV1Api);
    const s = await core.readNamespacedSecret({ name: 'blogsecret', namespace: 'platform' });
    s.metadata!.annotations = { ...(s.metadata!.annotations ?? {}), 'ripple.dev/restored': 'yes' };
    const updated = await core.replaceNamespacedSecret({ name: 'blogsecret', namespace: 'platform', body: s });
    expect(updated.metadata?.annotations?.['ripple.dev/restored']).toBe('yes');
  });

  it('lets system:masters (cluster-admin) delete it', async () => {
    await ok('admin', ['-n', 'platform', 'delete', 'secret/blogsecret']);
    const r = await kubectl('admin', ['-n', 'platform', 'get', 'secret', 'blogsecret']);
    expect(r.code).not.toBe(0);
  });
});
