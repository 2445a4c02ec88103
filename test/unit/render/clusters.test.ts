/**
 * Per-cluster rendering for a fleet stage: each cluster's RBAC and admission hold only its part of each policy
 * (the bases it holds: protect, admission, clone's read of base and snapshot; the copies it receives: clone's
 * writes, rollout's reads), judged by the embedded cluster's RBAC authorizer; a stage of one cluster, or without
 * fleet policies, renders exactly today's files; per-cluster files are owned (stale ones removed) only when
 * rendering for a known stage; each cluster's kustomization builds with kubectl.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { authorize, type RbacObjects } from '../../../infra/local/cluster/rbac.ts';
import { loadPolicies, parsePolicies } from '../../../core/policy/load.ts';
import { CLUSTERS_DIR, checkRendered, renderFiles, writeRendered } from '../../../render/index.ts';

const HEAD = 'apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\n';
// regcred: base in hub/platform, copies only in edge. ca: base in edge/certs, copies in every cluster. blog: cluster-local.
const FLEET = parsePolicies(
  [
    `${HEAD}metadata: { name: regcred }\nspec:\n  source: { kind: Secret, namespace: platform, name: regcred, cluster: hub }\n  protect: {}\n  sync: { clusters: [edge], namespaces: { include: ["team-*"] } }\n  reload: { kinds: [Deployment] }\n`,
    `${HEAD}metadata: { name: ca }\nspec:\n  source: { kind: ConfigMap, namespace: certs, name: ca-bundle, cluster: edge }\n  protect: {}\n  sync: { clusters: ["*"] }\n`,
  ].join('---\n'),
  'fleet.yaml',
);
const STAGE = ['hub', 'edge'];

function rbacOf(files: Record<string, string>, dir: string): RbacObjects {
  const objs = Object.entries(files)
    .filter(([f]) => f.startsWith(`${dir}/`) && !f.endsWith('kustomization.yaml'))
    .flatMap(([, text]) => parseAllDocuments(text).map((d) => d.toJSON()))
    .filter(Boolean);
  return {
    roles: objs.filter((o) => o.kind === 'Role'),
    clusterRoles: objs.filter((o) => o.kind === 'ClusterRole'),
    roleBindings: objs.filter((o) => o.kind === 'RoleBinding'),
    clusterRoleBindings: objs.filter((o) => o.kind === 'ClusterRoleBinding'),
  };
}

const user = (h: string) => ({ username: `ripple-${h}`, groups: [`ripple:${h}`, 'system:authenticated'] });

describe('ripple render for a fleet stage: per-cluster RBAC and admission', () => {
  const files = renderFiles('all', FLEET, { clusters: STAGE });
  const rbac = { hub: rbacOf(files, `${CLUSTERS_DIR}/hub/rbac`), edge: rbacOf(files, `${CLUSTERS_DIR}/edge/rbac`) };

  // [cluster, handler, verb, resource, namespace, name, allowed]
  const rows: ['hub' | 'edge', string, string, string, string | undefined, string | undefined, boolean][] = [
    // regcred: the base and its snapshot are read by clone in hub only; copies written in edge only
    ['hub', 'clone', 'get', 'secrets', 'platform', 'regcred', true],
    ['hub', 'clone', 'get', 'secrets', 'ripple-system', 'ripple-snapshot-regcred', true],
    ['edge', 'clone', 'get', 'secrets', 'ripple-system', 'ripple-snapshot-regcred', false],
    ['edge', 'clone', 'create', 'secrets', 'team-a', undefined, true],
    ['edge', 'clone', 'update', 'secrets', 'team-a', 'regcred', true],
    ['hub', 'clone', 'create', 'secrets', 'team-a', undefined, false], // hub receives no Secret copy
    // ca: base in edge, copies everywhere (ConfigMap)
    ['edge', 'clone', 'get', 'configmaps', 'certs', 'ca-bundle', true],
    ['hub', 'clone', 'create', 'configmaps', 'team-a', undefined, true],
    ['hub', 'clone', 'get', 'secrets', 'ripple-system', 'ripple-snapshot-ca', false],
    ['edge', 'clone', 'get', 'secrets', 'ripple-system', 'ripple-snapshot-ca', true],
    // protect only where the base is
    ['hub', 'protect', 'update', 'secrets', 'platform', 'regcred', true],
    ['edge', 'protect', 'update', 'secrets', 'platform', 'regcred', false],
    ['edge', 'protect', 'create', 'secrets', 'platform', undefined, false], // not even bound in platform there
    ['edge', 'protect', 'update', 'configmaps', 'certs', 'ca-bundle', true],
    ['hub', 'protect', 'update', 'configmaps', 'certs', 'ca-bundle', false],
    // rollout reads the copies where they are
    ['edge', 'rollout', 'get', 'secrets', 'team-a', 'regcred', true],
  ];

  it.each(rows)('%s: %s %s %s in %s name=%s -> %s', (c, h, verb, resource, namespace, name, allowed) => {
    expect(authorize({ user: user(h), verb, apiGroup: '', resource, namespace, name, path: '/', resourceRequest: true }, rbac[c]).allowed).toBe(allowed);
  });

  it('admission: a protected base is guarded in the cluster that holds it, not in the others', () => {
    const list = (c: string) => Object.keys(files).filter((f) => f.startsWith(`${CLUSTERS_DIR}/${c}/admission/`)).map((f) => f.split('/').pop()).sort();
    expect(list('hub')).toEqual(['_ripple-identities.yaml', '_ripple-system.yaml', 'kustomization.yaml', 'regcred.yaml']);
    expect(list('edge')).toEqual(['_ripple-identities.yaml', '_ripple-system.yaml', 'ca.yaml', 'kustomization.yaml']);
    // protect's identity limits name only the namespaces of the bases held there
    expect(files[`${CLUSTERS_DIR}/edge/admission/_ripple-identities.yaml`]).toContain('"certs"');
    expect(files[`${CLUSTERS_DIR}/edge/admission/_ripple-identities.yaml`]).not.toContain('"platform"');
  });

  it('the stage-wide files stay the union (valid in every cluster), equal to a render without the stage', () => {
    const plain = renderFiles('all', FLEET);
    for (const [f, text] of Object.entries(plain)) expect(files[f], f).toBe(text);
    expect(Object.keys(files).filter((f) => !(f in plain)).every((f) => f.startsWith(`${CLUSTERS_DIR}/`))).toBe(true);
    expect(parse(files[`${CLUSTERS_DIR}/edge/kustomization.yaml`]!)).toEqual({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['../../forwarder/', 'rbac/', 'admission/'] });
  });

  it('single-cluster output is byte-identical: one cluster, or no policy naming clusters', () => {
    const repo = loadPolicies('policies');
    expect(renderFiles('all', repo, { clusters: STAGE })).toEqual(renderFiles('all', repo));
    expect(renderFiles('all', FLEET, { clusters: ['hub'] })).toEqual(renderFiles('all', FLEET));
  });
});

describe('per-cluster files on disk', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('written, checked, removed when a cluster leaves the stage, left alone by a render without a stage; each builds with kubectl kustomize', () => {
    dir = mkdtempSync(join(tmpdir(), 'ripple-render-fleet-'));
    cpSync('infra/k8s/forwarder', join(dir, 'infra/k8s/forwarder'), { recursive: true });
    const three = renderFiles('all', FLEET, { clusters: [...STAGE, 'spare'] });
    writeRendered('all', three, dir, { perCluster: true });
    expect(checkRendered('all', three, dir, { perCluster: true })).toEqual([]);
    const built = execFileSync('kubectl', ['kustomize', join(dir, CLUSTERS_DIR, 'edge')], { encoding: 'utf8' });
    expect(built).toContain('name: ripple-forwarder');
    expect(built).toMatch(/kind: ValidatingAdmissionPolicy\n[^]*name: ripple-protect-ca/);
    // a render without a stage neither checks nor removes them
    const plain = renderFiles('all', FLEET);
    expect(checkRendered('all', plain, dir)).toEqual([]);
    // the stage without `spare`: its files are stale, then removed
    const two = renderFiles('all', FLEET, { clusters: STAGE });
    expect(checkRendered('all', two, dir, { perCluster: true }).some((d) => d.startsWith(`${CLUSTERS_DIR}/spare/kustomization.yaml: stale`))).toBe(true);
    const res = writeRendered('all', two, dir, { perCluster: true });
    expect(res.removed.filter((f) => f.startsWith(`${CLUSTERS_DIR}/spare/`)).length).toBeGreaterThan(5);
    expect(existsSync(join(dir, CLUSTERS_DIR, 'spare', 'kustomization.yaml'))).toBe(false);
    expect(checkRendered('all', two, dir, { perCluster: true })).toEqual([]);
  });
});
