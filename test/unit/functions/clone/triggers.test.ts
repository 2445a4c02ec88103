import { describe, expect, it } from 'vitest';
import { core as zodCore } from '../../../../core/zod.ts';
import { classify, workFor } from '../../../../functions/clone/triggers.ts';
import { RipplePolicy } from '../../../../core/policy/schema.ts';

const policy = (name: string, source: { kind: 'Secret' | 'ConfigMap'; namespace: string; name: string }, sync: object | null = {}) =>
  RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec: { source, ...(sync ? { sync } : {}) } });

const blog = policy('blog', { kind: 'Secret', namespace: 'base', name: 'blogsecret' });
const renamed = policy('cfg', { kind: 'ConfigMap', namespace: 'base', name: 'settings' }, { targetName: 'app-settings' });
const protectOnly = policy('p', { kind: 'Secret', namespace: 'base', name: 'other' }, null);
const guarded = RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: 'guarded' }, spec: { source: { kind: 'ConfigMap', namespace: 'base', name: 'ca' }, protect: {}, sync: {} } });
const policies = [blog, renamed, protectOnly, guarded];

function change(detailType: string, d: { kind: string; namespace?: string; name: string; manager?: string }) {
  return {
    version: '0', id: 'e-1', source: 'ripple.kubernetes', account: '1', time: '2026-11-25T10:00:00Z', region: 'eu-west-1', resources: [], 'detail-type': detailType,
    detail: { cluster: 'prod', apiVersion: 'v1', uid: 'u', resourceVersion: '1', labels: {}, annotations: {}, ownerReferences: [], fingerprint: 'hmac-sha256:' + '0'.repeat(32), changes: [], observedAt: '2026-11-25T10:00:00Z', ...d },
  };
}

const resync = { version: '0', id: 'e-2', source: 'ripple.kubernetes', account: '1', time: 't', region: 'r', resources: [], 'detail-type': 'Ripple Resync Requested', detail: { cluster: 'prod', reason: 'startup', observedAt: 't' } };
const cfn = (RequestType: string, props: object = {}) => ({ RequestType, ResponseURL: 'http://x', StackId: 's', RequestId: 'r', LogicalResourceId: 'PoliciesReconcile', ResourceProperties: props });

describe('clone triggers', () => {
  it.each<[string, unknown, string[]]>([
    ['source updated', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'base', name: 'blogsecret' }), ['blog@all']],
    ['source deleted', change('Kubernetes Object Deleted', { kind: 'Secret', namespace: 'base', name: 'blogsecret' }), ['blog@all']],
    ['copy updated', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'blogsecret' }), ['blog@team-a']],
    ['copy deleted (target name)', change('Kubernetes Object Deleted', { kind: 'ConfigMap', namespace: 'team-b', name: 'app-settings' }), ['cfg@team-b']],
    ['same name, other kind', change('Kubernetes Object Updated', { kind: 'ConfigMap', namespace: 'team-a', name: 'blogsecret' }), []],
    ['unrelated secret', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'x' }), []],
    ['namespace created', change('Kubernetes Object Created', { kind: 'Namespace', name: 'team-c' }), ['blog@team-c', 'cfg@team-c', 'guarded@team-c']],
    ['namespace relabelled', change('Kubernetes Object Updated', { kind: 'Namespace', name: 'team-c' }), ['blog@team-c', 'cfg@team-c', 'guarded@team-c']],
    ['namespace deleted', change('Kubernetes Object Deleted', { kind: 'Namespace', name: 'team-c' }), []],
    ['last-known-good snapshot of a protected source moved', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'ripple-system', name: 'ripple-snapshot-guarded', manager: 'ripple' }), ['guarded@all']],
    ['snapshot deleted', change('Kubernetes Object Deleted', { kind: 'Secret', namespace: 'ripple-system', name: 'ripple-snapshot-guarded' }), ['guarded@all']],
    ['snapshot of a policy that does not sync', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'ripple-system', name: 'ripple-snapshot-p' }), []],
    ['a snapshot-like name outside ripple-system', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'ripple-snapshot-guarded' }), []],
    ['resync', resync, ['blog@all', 'cfg@all', 'guarded@all']],
    ['scheduled event', { source: 'aws.events', 'detail-type': 'Scheduled Event', id: 's', detail: {} }, ['blog@all', 'cfg@all', 'guarded@all']],
    ['serverless schedule input', { reason: 'schedule' }, ['blog@all', 'cfg@all', 'guarded@all']],
    ['cloudformation create', cfn('Create'), ['blog@all', 'cfg@all', 'guarded@all']],
    ['cloudformation delete', cfn('Delete'), []],
  ])('%s', (_n, event, expected) => {
    const items = workFor(classify(event, 'prod'), policies);
    expect(items.map((i) => `${i.policy.metadata.name}@${i.scope.kind === 'all' ? 'all' : i.scope.namespace}`)).toEqual(expected);
  });

  it.each<[string, unknown, boolean]>([
    ['copy updated by ripple (routed only on drifted)', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'blogsecret', manager: 'ripple' }), true],
    ['copy updated by a user', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'blogsecret', manager: 'kubectl-edit' }), false],
    ['copy updated, no manager', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'blogsecret' }), false],
    ['copy deleted, last manager ripple', change('Kubernetes Object Deleted', { kind: 'Secret', namespace: 'team-a', name: 'blogsecret', manager: 'ripple' }), false],
    ['source updated by ripple', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'base', name: 'blogsecret', manager: 'ripple' }), false],
  ])('ownWrite: %s -> %s', (_n, event, ownWrite) => {
    const items = workFor(classify(event, 'prod'), policies);
    expect(items).toHaveLength(1);
    expect(items[0].ownWrite ?? false).toBe(ownWrite);
  });

  it.each<[unknown, string[]]>([
    [cfn('Update', { Clusters: ['a', 'b', 'a'] }), ['a', 'b']],
    [cfn('Update', { Clusters: 'a, b' }), ['a', 'b']],
    [cfn('Update', { Cluster: 'c' }), ['c']],
    [cfn('Update'), ['prod']],
  ])('cloudformation clusters %j', (event, clusters) => {
    const t = classify(event, 'prod');
    expect(t.type === 'cloudformation' && t.clusters).toEqual(clusters);
  });

  it('takes the cluster from the event, the default otherwise', () => {
    expect(classify(change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'base', name: 'blogsecret' }), 'dflt').cluster).toBe('prod');
    expect(classify({ reason: 'schedule' }, 'dflt').cluster).toBe('dflt');
  });

  it.each([
    [{ 'detail-type': 'Kubernetes Object Updated', detail: {} }],
    [{ hello: 'world' }],
    [null],
  ])('malformed input %j is a schema error naming the field', (event) => {
    let err: unknown;
    try {
      classify(event, 'prod');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(zodCore.$ZodError);
  });
});

describe('sync.mode once: runs that may make copies, and no others', () => {
  const onceP = policy('once', { kind: 'Secret', namespace: 'base', name: 'regcred' }, { mode: 'once' });
  const ps = [blog, onceP];
  const deployResync = { ...resync, detail: { ...resync.detail, reason: 'deploy' } };
  it.each<[string, unknown, string[]]>([
    ['namespace created: may create', change('Kubernetes Object Created', { kind: 'Namespace', name: 'team-c' }), ['blog@team-c', 'once@team-c+create']],
    ['namespace relabelled (newly selected): may create', change('Kubernetes Object Updated', { kind: 'Namespace', name: 'team-c' }), ['blog@team-c', 'once@team-c+create']],
    ['deploy (CloudFormation): may create in every namespace', cfn('Update'), ['blog@all', 'once@all+create']],
    ['deploy resync: may create', deployResync, ['blog@all', 'once@all+create']],
    ['scheduled resync: once-mode copies left alone', { reason: 'schedule' }, ['blog@all']],
    ['startup resync: left alone', resync, ['blog@all']],
    ['source created: copied where no copy is yet', change('Kubernetes Object Created', { kind: 'Secret', namespace: 'base', name: 'regcred' }), ['once@all+create']],
    ['source updated: not propagated', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'base', name: 'regcred' }), []],
    ['source deleted: copies kept', change('Kubernetes Object Deleted', { kind: 'Secret', namespace: 'base', name: 'regcred' }), []],
    ['copy deleted: not re-created', change('Kubernetes Object Deleted', { kind: 'Secret', namespace: 'team-a', name: 'regcred' }), []],
    ['copy edited: kept', change('Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'regcred', manager: 'kubectl-edit' }), []],
  ])('%s', (_n, event, expected) => {
    const items = workFor(classify(event, 'prod'), ps);
    expect(items.map((i) => `${i.policy.metadata.name}@${i.scope.kind === 'all' ? 'all' : i.scope.namespace}${i.mayCreate ? '+create' : ''}`)).toEqual(expected);
  });
});

describe('clone triggers across a fleet (stage hub, edge, eu)', () => {
  const STAGE = ['hub', 'edge', 'eu'];
  const fleetPolicy = (name: string, source: object, sync: object, protect = false) =>
    RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec: { source, sync, ...(protect ? { protect: {} } : {}) } });
  // regcred: base in hub, copies in hub and edge; ca: base in eu, copies everywhere (protected); local: no cluster named
  const regcred = fleetPolicy('regcred', { kind: 'Secret', namespace: 'platform', name: 'regcred', cluster: 'hub' }, { clusters: ['hub', 'edge'] });
  const ca = fleetPolicy('ca', { kind: 'ConfigMap', namespace: 'platform', name: 'ca', cluster: 'eu' }, { clusters: ['*'] }, true);
  const local = fleetPolicy('local', { kind: 'Secret', namespace: 'base', name: 'blogsecret' }, {});
  const all = [regcred, ca, local];
  const from = (cluster: string, detailType: string, d: { kind: string; namespace?: string; name: string; manager?: string }) => {
    const e = change(detailType, d);
    return { ...e, detail: { ...e.detail, cluster } };
  };
  const work = (event: unknown, policies = all) =>
    workFor(classify(event, 'hub'), policies, STAGE)
      .map((i) => `${i.policy.metadata.name}@${i.scope.kind === 'all' ? 'all' : i.scope.namespace} ${i.source}->${i.target}`)
      .sort();

  it.each<[string, unknown, string[]]>([
    ['the base changed in its cluster: every target cluster', from('hub', 'Kubernetes Object Updated', { kind: 'Secret', namespace: 'platform', name: 'regcred' }), ['regcred@all hub->edge', 'regcred@all hub->hub']],
    ['the base deleted in its cluster', from('hub', 'Kubernetes Object Deleted', { kind: 'Secret', namespace: 'platform', name: 'regcred' }), ['regcred@all hub->edge', 'regcred@all hub->hub']],
    ['a same-named object in another cluster is not the base (and its namespace holds no copy)', from('edge', 'Kubernetes Object Updated', { kind: 'Secret', namespace: 'platform', name: 'regcred' }), []],
    ['a copy edited in edge: that namespace in edge', from('edge', 'Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'regcred' }), ['regcred@team-a hub->edge']],
    ['a copy deleted in hub', from('hub', 'Kubernetes Object Deleted', { kind: 'Secret', namespace: 'team-a', name: 'regcred' }), ['regcred@team-a hub->hub']],
    ['a copy-named object in a cluster that is no target', from('eu', 'Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'regcred' }), []],
    ['a namespace created in edge: the policies with copies in edge', from('edge', 'Kubernetes Object Created', { kind: 'Namespace', name: 'team-z' }), ['ca@team-z eu->edge', 'local@team-z edge->edge', 'regcred@team-z hub->edge']],
    ['a namespace created in eu', from('eu', 'Kubernetes Object Created', { kind: 'Namespace', name: 'team-z' }), ['ca@team-z eu->eu', 'local@team-z eu->eu']],
    ['the protected base\'s snapshot moved in its cluster: every cluster', from('eu', 'Kubernetes Object Updated', { kind: 'Secret', namespace: 'ripple-system', name: 'ripple-snapshot-ca', manager: 'ripple' }), ['ca@all eu->edge', 'ca@all eu->eu', 'ca@all eu->hub']],
    ['a snapshot-named Secret in another cluster is ignored', from('hub', 'Kubernetes Object Updated', { kind: 'Secret', namespace: 'ripple-system', name: 'ripple-snapshot-ca' }), []],
    ['a cluster-local source: its own cluster only', from('edge', 'Kubernetes Object Updated', { kind: 'Secret', namespace: 'base', name: 'blogsecret' }), ['local@all edge->edge']],
    [
      "a resync from edge: what has copies in edge or its source there",
      { ...resync, detail: { ...resync.detail, cluster: 'edge' } },
      ['ca@all eu->edge', 'local@all edge->edge', 'regcred@all hub->edge'],
    ],
    [
      'a resync from eu also fans eu\'s sources out',
      { ...resync, detail: { ...resync.detail, cluster: 'eu' } },
      ['ca@all eu->edge', 'ca@all eu->eu', 'ca@all eu->hub', 'local@all eu->eu'],
    ],
    [
      'the schedule: every (policy, target cluster)',
      { reason: 'schedule' },
      ['ca@all eu->edge', 'ca@all eu->eu', 'ca@all eu->hub', 'local@all edge->edge', 'local@all eu->eu', 'local@all hub->hub', 'regcred@all hub->edge', 'regcred@all hub->hub'],
    ],
    ['a schedule naming a cluster: its copies', { reason: 'schedule', cluster: 'edge' }, ['ca@all eu->edge', 'local@all edge->edge', 'regcred@all hub->edge']],
    ['the deploy-time resync over two of the clusters', cfn('Update', { Clusters: 'hub,edge' }), ['ca@all eu->edge', 'ca@all eu->hub', 'local@all edge->edge', 'local@all hub->hub', 'regcred@all hub->edge', 'regcred@all hub->hub']],
  ])('%s', (_n, event, expected) => {
    expect(work(event)).toEqual(expected);
  });

  it('an event from a cluster outside the stage reaches cluster-local policies only (as before fleets), never a fleet target', () => {
    expect(work(from('stray', 'Kubernetes Object Created', { kind: 'Namespace', name: 'x' }))).toEqual(['local@x stray->stray']);
    expect(work({ ...resync, detail: { ...resync.detail, cluster: 'stray' } })).toEqual(['local@all stray->stray']);
  });

  it('marks ripple-managed copy updates as ownWrite in the copy cluster', () => {
    const items = workFor(classify(from('edge', 'Kubernetes Object Updated', { kind: 'Secret', namespace: 'team-a', name: 'regcred', manager: 'ripple' }), 'hub'), all, STAGE);
    expect(items.map((i) => [i.target, i.ownWrite])).toEqual([['edge', true]]);
  });
});
