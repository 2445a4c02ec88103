import { describe, expect, it } from 'vitest';
import { aggregated, apiGroupList, apiResourceList, wantsAggregated } from '../../../../../infra/local/cluster/discovery.ts';

describe('discovery', () => {
  it.each([
    ['application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json', true],
    ['application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json', false],
    ['application/json, */*', false],
    [undefined, false],
  ])('Accept %j wants aggregated v2: %s', (accept, want) => {
    expect(wantsAggregated(accept)).toBe(want);
  });

  it('describes the core group in aggregated form with scope, verbs and subresources', () => {
    const core = aggregated(true);
    expect(core.kind).toBe('APIGroupDiscoveryList');
    const v1 = core.items[0].versions[0];
    const ns = v1.resources.find((r: any) => r.resource === 'namespaces');
    expect(ns).toMatchObject({ scope: 'Cluster', singularResource: 'namespace', shortNames: ['ns'], responseKind: { group: '', version: 'v1', kind: 'Namespace' } });
    expect(ns.subresources.map((s: any) => s.subresource)).toEqual(['status', 'finalize']);
    const deploy = aggregated(false).items.find((g: any) => g.metadata.name === 'apps').versions[0].resources.find((r: any) => r.resource === 'deployments');
    expect(deploy.subresources.find((s: any) => s.subresource === 'scale').responseKind).toEqual({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
  });

  it('serves the legacy documents kubectl falls back to', () => {
    expect(apiGroupList().groups.map((g: any) => g.name)).toEqual(expect.arrayContaining(['apps', 'rbac.authorization.k8s.io', 'admissionregistration.k8s.io']));
    const apps = apiResourceList('apps', 'v1');
    expect(apps.groupVersion).toBe('apps/v1');
    expect(apps.resources.find((r: any) => r.name === 'deployments/scale')).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    expect(apiResourceList('nope', 'v1')).toBeNull();
  });
});
