import { describe, expect, it } from 'vitest';
import { managerName, updateManagedFields } from '../../../../../infra/local/cluster/fields.ts';

const NOW = '2026-01-01T00:00:00Z';

describe('managedFields', () => {
  it.each([
    ['kubectl-client-side-apply', 'kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07', 'kubectl-client-side-apply'],
    [null, 'kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07', 'kubectl'],
    [undefined, undefined, 'unknown'],
  ])('manager from fieldManager %j and User-Agent %j is %j', (fm, ua, want) => {
    expect(managerName(fm, ua)).toBe(want);
  });

  it('records the creator, then moves changed fields to the updater and drops removed ones', () => {
    // Prepare
    const v1 = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } }, data: { x: '1', y: '2' } };
    const created = updateManagedFields(v1, null, 'creator', 'v1', NOW);
    expect(created).toEqual([{ manager: 'creator', operation: 'Update', apiVersion: 'v1', time: NOW, fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } }, 'f:data': { '.': {}, 'f:x': {}, 'f:y': {} } } }]);
    // Act: another manager changes x and removes y
    const v2 = { ...v1, metadata: { ...v1.metadata, managedFields: created }, data: { x: 'changed' } };
    const after = updateManagedFields(v2, { ...v1, metadata: { ...v1.metadata, managedFields: created } }, 'editor', 'v1', NOW);
    // Assess
    expect(after.map((e) => [e.manager, e.fieldsV1])).toEqual([
      ['creator', { 'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } } }],
      ['editor', { 'f:data': { 'f:x': {} } }],
    ]);
  });

  it('keys list items by their merge key', () => {
    const d = { spec: { template: { spec: { containers: [{ name: 'app', image: 'i' }] } } } };
    const [e] = updateManagedFields(d, null, 'm', 'apps/v1', NOW);
    expect(e.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']).toEqual({ '.': {}, 'k:{"name":"app"}': { '.': {}, 'f:name': {}, 'f:image': {} } });
  });
});
