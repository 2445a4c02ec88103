/**
 * The forwarder's kustomize base: every object valid against the Kubernetes OpenAPI schema
 * (kubernetes-models validators) and shaped as issue 5 asks. Applied to the embedded cluster and run with
 * exactly this RBAC in test/integration/forwarder/manifests.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '../../../..');

export function renderKustomize(dir: string): any[] {
  const out = execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJSON()).filter(Boolean);
}

async function validate(obj: any): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [null, obj.apiVersion];
  const mod = await import(/* @vite-ignore */ `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`);
  new mod[obj.kind](obj).validate();
}

const objs = renderKustomize('infra/k8s/forwarder');
const find = (kind: string, name?: string) => objs.find((o) => o.kind === kind && (!name || o.metadata.name === name));

describe('infra/k8s/forwarder', () => {
  it('renders the expected objects', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/ripple-forwarder',
        'Deployment/ripple-forwarder',
        'Namespace/ripple-system',
        'NetworkPolicy/ripple-forwarder',
        'PodDisruptionBudget/ripple-forwarder',
        'Role/ripple-clone-forwarder-restart',
        'RoleBinding/ripple-clone-forwarder-restart',
        'Service/ripple-forwarder-metrics',
        'ServiceAccount/ripple-forwarder',
      ].sort(),
    );
  });

  it.each(objs.map((o) => [`${o.kind}/${o.metadata.name}`, o]))('%s is schema-valid', async (_n, obj) => {
    await expect(validate(obj)).resolves.toBeUndefined();
  });

  it('schema validation catches a broken object (the check can fail)', async () => {
    const bad = structuredClone(find('Deployment'));
    bad.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
    await expect(validate(bad)).rejects.toThrow(/containerPort/);
  });

  it('Deployment: 2 replicas, probes, resources, hardened security context, anti-affinity', () => {
    const d = find('Deployment');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.metadata.namespace).toBe('ripple-system');
    expect(d.spec.replicas).toBe(2);
    expect(pod.serviceAccountName).toBe('ripple-forwarder');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits.memory).toBeTruthy();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(c.env.find((e: any) => e.name === 'POD_NAME').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
  });

  it('PDB keeps one replica and selects the Deployment pods', () => {
    const pdb = find('PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(find('Deployment').spec.selector.matchLabels);
  });

  it('NetworkPolicy restricts both directions and allows DNS, HTTPS/API server egress', () => {
    const np = find('NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const ports = np.spec.egress.flatMap((r: any) => r.ports.map((p: any) => `${p.protocol}/${p.port}`));
    expect(ports).toEqual(expect.arrayContaining(['UDP/53', 'TCP/443', 'TCP/6443']));
  });

  it('NetworkPolicy reaches the EKS Pod Identity agent on IPv4 and IPv6 clusters (port 80 only)', () => {
    const np = find('NetworkPolicy');
    const agent = np.spec.egress.filter((r: any) => r.to?.some((t: any) => t.ipBlock));
    expect(agent).toHaveLength(1);
    expect(agent[0].to.map((t: any) => t.ipBlock.cidr).sort()).toEqual(['169.254.170.23/32', 'fd00:ec2::23/128']);
    expect(agent[0].ports).toEqual([{ port: 80, protocol: 'TCP' }]);
  });

  it('the clone group may get/patch only the forwarder Deployment and read only its ConfigMap in ripple-system', () => {
    const role = find('Role', 'ripple-clone-forwarder-restart');
    const binding = find('RoleBinding', 'ripple-clone-forwarder-restart');
    expect(role.metadata.namespace).toBe('ripple-system');
    expect(role.rules).toEqual([
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['ripple-forwarder'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['ripple-forwarder'], verbs: ['get'] },
    ]);
    expect(binding.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'ripple:clone' }]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
  });

  it('infra/k8s combines the base with the rendered RBAC: list/watch only cluster-wide, a few names in ripple-system', () => {
    // Prepare
    const all = renderKustomize('infra/k8s');
    const mine = (kind: string) => all.find((o) => o.kind === kind && o.metadata.name === 'ripple-forwarder');
    // Assess: the ServiceAccount the Deployment runs as is the subject of both bindings.
    expect(all.some((o) => o.kind === 'Deployment' && o.metadata.name === 'ripple-forwarder')).toBe(true);
    for (const b of [mine('ClusterRoleBinding'), mine('RoleBinding')]) expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: find('Deployment').spec.template.spec.serviceAccountName, namespace: 'ripple-system' }]);
    expect(mine('ClusterRole').rules).toEqual([{ apiGroups: [''], resources: ['namespaces', 'secrets', 'configmaps'], verbs: ['list', 'watch'] }]);
    const role = mine('Role');
    expect(role.metadata.namespace).toBe('ripple-system');
    const grants = role.rules.flatMap((r: any) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${v} ${res}${r.resourceNames ? `/${r.resourceNames.join('|')}` : ''}`))).sort();
    expect(grants).toEqual(expect.arrayContaining(['create leases', 'get leases/ripple-forwarder', 'update leases/ripple-forwarder', 'get secrets/ripple-fingerprint-key', 'create secrets']));
    expect(grants.filter((g: string) => g.includes('secrets') && !g.includes('ripple-fingerprint-key') && !g.startsWith('create'))).toEqual([]);
  });
});

describe('infra/k8s-overlays/example', () => {
  const overlay = renderKustomize('infra/k8s-overlays/example');
  const base = renderKustomize('infra/k8s');

  it('is the whole base with the pushed image and this cluster\'s three settings, nothing else changed', () => {
    // Prepare
    const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    // Assess
    expect(overlay.map(key).sort()).toEqual(base.map(key).sort());
    const dep = overlay.find((o) => o.kind === 'Deployment' && o.metadata.name === 'ripple-forwarder');
    expect(dep.spec.template.spec.containers[0].image).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/ripple-forwarder:0.1.0');
    const cm = overlay.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ripple-forwarder');
    const baseCm = base.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'ripple-forwarder');
    expect(cm.data).toEqual({ ...baseCm.data, RIPPLE_CLUSTER_NAME: 'prod-eu', RIPPLE_EVENT_BUS_NAME: 'ripple-prod', AWS_REGION: 'eu-west-1' });
  });
});
