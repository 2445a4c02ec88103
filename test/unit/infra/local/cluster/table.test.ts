import { describe, expect, it } from 'vitest';
import { lookupResource } from '../../../../../infra/local/cluster/resources.ts';
import { humanDuration, toTable, wantsTable } from '../../../../../infra/local/cluster/table.ts';

describe('humanDuration (kube duration.HumanDuration)', () => {
  it.each([
    [-5_000, '<invalid>'], [-500, '0s'], [0, '0s'], [119_000, '119s'], [120_000, '2m'], [125_000, '2m5s'],
    [600_000, '10m'], [3 * 3600_000 - 1, '179m'], [3 * 3600_000, '3h'], [3 * 3600_000 + 60_000, '3h1m'],
    [30 * 3600_000, '30h'], [50 * 3600_000, '2d2h'], [10 * 86400_000, '10d'], [800 * 86400_000, '2y70d'],
  ])('%d ms -> %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});

describe('Table', () => {
  it.each([
    ['application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json', true],
    ['application/json', false],
    ['application/json, application/json;as=Table;v=v1;g=meta.k8s.io', false],
    [undefined, false],
  ])('Accept %j -> %s', (accept, want) => {
    expect(wantsTable(accept)).toBe(want);
  });

  it('prints Secrets as NAME TYPE DATA AGE with partial metadata rows', () => {
    const secrets = lookupResource('', 'v1', 'secrets')!;
    const t = toTable(secrets, [{ metadata: { name: 's', namespace: 'n', creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{}] }, type: 'Opaque', data: { a: 'eA==', b: 'eQ==' } }], { resourceVersion: '7' }, 'Metadata', Date.parse('2026-01-01T00:00:30Z'));
    expect(t.columnDefinitions.map((c: any) => c.name)).toEqual(['Name', 'Type', 'Data', 'Age']);
    expect(t.rows[0].cells).toEqual(['s', 'Opaque', 2, '30s']);
    expect(t.rows[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 's', namespace: 'n', creationTimestamp: '2026-01-01T00:00:00Z' } });
  });
});
