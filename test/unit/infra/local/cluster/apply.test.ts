import { describe, expect, it } from 'vitest';
import {
  ApplyConflictError, ApplyError, appliedSet, applyConfiguration, checkApplyConfig, compare, conflictMessage, flatten, mergeApplied,
  parseApplyBody, pathString, stringDataToData, toTree, type Conflict,
} from '../../../../../infra/local/cluster/apply.ts';
import { updateManagedFields, type ManagedFieldsEntry } from '../../../../../infra/local/cluster/fields.ts';

const NOW = '2026-01-01T00:00:00Z';
const LATER = '2026-01-01T00:01:00Z';
const req = (manager: string, force = false, now = NOW) => ({ manager, apiVersion: 'v1', now, force });
const cm = (data: Record<string, string>, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', ...extra }, data });

describe('the applied field set', () => {
  it.each([
    ['map entries, without the map itself', { data: { a: '1', b: '2' } }, { 'f:data': { 'f:a': {}, 'f:b': {} } }],
    ['an empty map is a leaf', { spec: { resources: {} } }, { 'f:spec': { 'f:resources': {} } }],
    ['an atomic list is one leaf', { spec: { args: ['a', 'b'] } }, { 'f:spec': { 'f:args': {} } }],
    ['keyed items with "." and their fields', { spec: { containers: [{ name: 'app', image: 'i' }] } },
      { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:name': {}, 'f:image': {} } } } }],
    ['container ports keyed by containerPort and protocol (default TCP)', { spec: { containers: [{ name: 'a', ports: [{ containerPort: 80 }] }] } },
      { 'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } } }],
    ['finalizers are a set', { metadata: { finalizers: ['x'] } }, { 'f:metadata': { 'f:finalizers': { 'v:"x"': {} } } }],
  ])('%s', (_what, config, want) => {
    expect(toTree(appliedSet(config))).toEqual(want);
  });

  it('refuses duplicate keys in an associative list', () => {
    expect(() => appliedSet({ spec: { containers: [{ name: 'a', env: [{ name: 'X' }, { name: 'X' }] }, { name: 'a' }] } })).toThrow(
      'errors:\n  .spec.containers[name="a"].env: duplicate entries for key [name="X"]\n  .spec.containers: duplicate entries for key [name="a"]');
  });

  it('round-trips FieldsV1 trees through member paths', () => {
    const tree = { 'f:data': { '.': {}, 'f:a': {} }, 'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:image': {} } } } };
    expect(toTree(flatten(tree))).toEqual(tree);
  });
});

describe('merge', () => {
  it.each([
    ['scalars take the applied value, maps merge', { data: { a: '1', b: '2' } }, { data: { b: '3' } }, { data: { a: '1', b: '3' } }],
    ['null removes a field', { data: { a: '1', b: '2' } }, { data: { b: null } }, { data: { a: '1' } }],
    ['atomic lists are replaced', { spec: { args: ['a', 'b'] } }, { spec: { args: ['c'] } }, { spec: { args: ['c'] } }],
    ['keyed items merge, others stay', { spec: { containers: [{ name: 'a', image: '1', x: 1 }, { name: 'b', image: '1' }] } },
      { spec: { containers: [{ name: 'a', image: '2' }] } }, { spec: { containers: [{ name: 'a', image: '2', x: 1 }, { name: 'b', image: '1' }] } }],
    ['new items follow the applied order', { spec: { containers: [{ name: 'a' }, { name: 'c' }] } },
      { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } }, { spec: { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } }],
    ['sets are unions', { metadata: { finalizers: ['x'] } }, { metadata: { finalizers: ['y', 'x'] } }, { metadata: { finalizers: ['y', 'x'] } }],
  ])('%s', (_what, live, config, want) => {
    expect(mergeApplied(live, config)).toEqual(want);
  });
});

describe('compare', () => {
  it('reports changed and removed fields, item by item', () => {
    const r = compare({ data: { a: '1', b: '2' } }, { data: { a: '9', c: '3' } });
    expect([...r.changed].map(pathString).sort()).toEqual(['.data.a', '.data.c']);
    expect([...r.removed].map(pathString)).toEqual(['.data.b']);
  });
});

describe('applyConfiguration', () => {
  it('creates: one Apply entry for exactly the applied fields', () => {
    const { obj, managedFields } = applyConfiguration(null, cm({ k: 'v' }, { labels: { app: 'x' } }), req('mgr'));
    expect(obj.data).toEqual({ k: 'v' });
    expect(managedFields).toEqual([{ manager: 'mgr', operation: 'Apply', apiVersion: 'v1', time: NOW, fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { 'f:k': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } } }]);
  });

  // Prepare: a live object written by an Update manager (as `kubectl create`/client-side apply record it)
  const created = (): any => {
    const o = cm({ key: 'a', other: 'b' });
    return { ...o, metadata: { ...o.metadata, managedFields: updateManagedFields(o, null, 'kubectl-client-side-apply', 'v1', NOW) } };
  };

  it.each([
    ['a different value conflicts', { key: 'b' }, false, ['.data.key']],
    ['the same value is shared, no conflict', { key: 'a' }, false, []],
    ['a new field conflicts with nobody', { fresh: '1' }, false, []],
    ['force takes the field', { key: 'b' }, true, []],
  ])('%s', (_what, data, force, conflicts) => {
    const act = () => applyConfiguration(created(), cm(data), req('kubectl', force));
    if (conflicts.length) {
      expect(act).toThrow(ApplyConflictError);
      try {
        act();
      } catch (err) {
        expect((err as ApplyConflictError).conflicts.map((c) => c.path)).toEqual(conflicts);
        expect((err as Error).message).toBe('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.key');
      }
    } else expect(act).not.toThrow();
  });

  it('force moves ownership: the other manager loses the field, the applier owns it', () => {
    const { obj, managedFields } = applyConfiguration(created(), cm({ key: 'b' }), req('kubectl', true));
    expect(obj.data).toEqual({ key: 'b', other: 'b' });
    const byManager = Object.fromEntries(managedFields.map((e) => [e.manager, [...flatten(e.fieldsV1)].map(pathString).sort()]));
    expect(byManager).toEqual({ 'kubectl': ['.data.key'], 'kubectl-client-side-apply': ['.data', '.data.other'] });
    expect(managedFields[0].operation).toBe('Apply'); // Apply entries first, as kube-apiserver sorts them
  });

  it('force drops an entry left owning nothing', () => {
    const o = cm({ key: 'a' });
    const live = { ...o, metadata: { ...o.metadata, managedFields: [{ manager: 'other', operation: 'Apply', apiVersion: 'v1', time: NOW, fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:key': {} } } }] } };
    const { managedFields } = applyConfiguration(live, cm({ key: 'b' }), req('mine', true));
    expect(managedFields.map((e) => e.manager)).toEqual(['mine']);
  });

  it('a shared field stays shared: both managers own it', () => {
    const { managedFields } = applyConfiguration(created(), cm({ key: 'a' }), req('kubectl'));
    const owners = managedFields.filter((e) => flatten(e.fieldsV1).has('f:data\nf:key')).map((e) => e.manager).sort();
    expect(owners).toEqual(['kubectl', 'kubectl-client-side-apply']);
  });

  it('prunes what the manager applied before and applies no more, unless another manager owns it', () => {
    // Prepare: "mine" applied a and b; "other" applied b too (shared)
    let live: any = applyConfiguration(null, cm({ a: '1', b: '2' }), req('mine')).obj;
    live = applyConfiguration(live, cm({ b: '2' }), req('other')).obj;
    // Act: mine applies only c
    const { obj, managedFields } = applyConfiguration(live, cm({ c: '3' }), req('mine', false, LATER));
    // Assess: a is gone (only mine owned it), b stays (other owns it), c is new
    expect(obj.data).toEqual({ b: '2', c: '3' });
    const mine = managedFields.find((e) => e.manager === 'mine')!;
    expect(mine.fieldsV1).toEqual({ 'f:data': { 'f:c': {} } });
    expect(mine.time).toBe(LATER);
  });

  it('prunes a whole list item', () => {
    const d = (containers: unknown[]) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers } });
    const live = applyConfiguration(null, d([{ name: 'a', image: 'i' }, { name: 'b', image: 'i' }]), req('m')).obj;
    const { obj } = applyConfiguration(live, d([{ name: 'a', image: 'i' }]), req('m'));
    expect(obj.spec.containers).toEqual([{ name: 'a', image: 'i' }]);
  });

  it('a no-op re-apply keeps the entry and its time', () => {
    const live = applyConfiguration(null, cm({ a: '1' }), req('m')).obj;
    const { managedFields } = applyConfiguration(live, cm({ a: '1' }), req('m', false, LATER));
    expect(managedFields).toEqual(live.metadata.managedFields);
  });
});

describe('request checks and messages', () => {
  const want = { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'default' };
  it.each([
    [{ apiVersion: 'v2', kind: 'ConfigMap', metadata: { name: 'c' } }, 'Incorrect version specified in apply patch. Specified patch version: v2, expected: v1'],
    [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'c' } }, 'the kind in the apply patch (Secret) does not match the kind of the resource (ConfigMap)'],
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'd' } }, 'the name of the object (d) does not match the name on the URL (c)'],
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'x' } }, 'the namespace of the object (x) does not match the namespace on the URL (default)'],
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', managedFields: [] } }, 'metadata.managedFields must be nil'],
  ])('%j is refused', (config, message) => {
    expect(() => checkApplyConfig(config, want)).toThrow(message);
  });

  it('accepts YAML and JSON bodies, refuses a non-object', () => {
    expect(parseApplyBody('apiVersion: v1\nkind: ConfigMap\n')).toEqual({ apiVersion: 'v1', kind: 'ConfigMap' });
    expect(parseApplyBody('{"apiVersion":"v1"}')).toEqual({ apiVersion: 'v1' });
    expect(() => parseApplyBody('- a')).toThrow(ApplyError);
  });

  it('folds Secret stringData into data', () => {
    expect(stringDataToData({ kind: 'Secret', data: { a: 'YQ==' }, stringData: { b: 'b' } })).toEqual({ kind: 'Secret', data: { a: 'YQ==', b: 'Yg==' } });
  });

  it.each([
    ['f:data\nf:key', '.data.key'],
    ['f:spec\nf:containers\nk:{"name":"app"}\nf:image', '.spec.containers[name="app"].image'],
    ['f:spec\nf:ports\nk:{"port":80,"protocol":"TCP"}', '.spec.ports[port=80,protocol="TCP"]'],
    ['f:metadata\nf:finalizers\nv:"x"', '.metadata.finalizers[="x"]'],
  ])('path %j prints as %s', (path, want) => {
    expect(pathString(path)).toBe(want);
  });

  it('lists several conflicts by manager', () => {
    const c = (manager: string, operation: ManagedFieldsEntry['operation'], path: string): Conflict => ({ manager, operation, apiVersion: 'v1', path });
    expect(conflictMessage([c('b', 'Update', '.data.x'), c('a', 'Apply', '.data.y'), c('b', 'Update', '.data.z')])).toBe(
      'Apply failed with 3 conflicts: conflicts with "a":\n- .data.y\nconflicts with "b" using v1:\n- .data.x\n- .data.z');
  });
});
