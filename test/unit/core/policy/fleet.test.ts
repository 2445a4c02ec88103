import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicies } from '../../../../core/policy/load.ts';
import { placements, sourceClusterOf, stageClusters, targetClustersOf, unknownClusters } from '../../../../core/policy/fleet.ts';
import { knownClusters, validate } from '../../../../cli/commands/validate.ts';

const STAGE = ['hub', 'edge', 'eu'];

function policy(source: string, sync: string) {
  return parsePolicies(
    `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: p }
spec:
  source: { kind: Secret, namespace: platform, name: regcred${source} }
  sync: { namespaces: { include: ["team-*"] }${sync} }
`,
    'p.yaml',
  )[0]!;
}

describe('fleet placement', () => {
  it('a policy naming no cluster stays cluster-local: each cluster copies its own source within itself', () => {
    const p = policy('', '');
    expect(sourceClusterOf(p, STAGE)).toBeNull();
    expect(placements(p, STAGE)).toEqual(STAGE.map((c) => ({ source: c, target: c })));
  });
  it('source.cluster alone: copies in the source cluster only', () => {
    const p = policy(', cluster: edge', '');
    expect(placements(p, STAGE)).toEqual([{ source: 'edge', target: 'edge' }]);
  });
  it('sync.clusters alone: the source is in the primary cluster', () => {
    const p = policy('', ', clusters: [edge, eu]');
    expect(placements(p, STAGE)).toEqual([
      { source: 'hub', target: 'edge' },
      { source: 'hub', target: 'eu' },
    ]);
  });
  it('"*" means every cluster of the stage', () => {
    const p = policy(', cluster: eu', ', clusters: ["*"]');
    expect(targetClustersOf(p, STAGE)).toEqual(STAGE);
    expect(placements(p, STAGE).every((x) => x.source === 'eu')).toBe(true);
  });
  it('never places a cluster the stage does not have', () => {
    expect(placements(policy(', cluster: hub', ', clusters: [edge, prod]'), STAGE)).toEqual([{ source: 'hub', target: 'edge' }]);
    expect(placements(policy(', cluster: prod', ', clusters: ["*"]'), STAGE)).toEqual([]);
  });
  it('names clusters that are not in the stage, with their field paths', () => {
    const p = policy(', cluster: hbu', ', clusters: [edge, prod]');
    expect(unknownClusters(p, STAGE)).toEqual([
      { path: ['spec', 'source', 'cluster'], cluster: 'hbu' },
      { path: ['spec', 'sync', 'clusters', 1], cluster: 'prod' },
    ]);
  });
  it('the stage: the primary cluster first, then the others', () => {
    expect(stageClusters({ defaultCluster: 'edge', clusters: { hub: {}, edge: {} } })).toEqual(['edge', 'hub']);
    expect(stageClusters({ defaultCluster: 'local', clusters: {} })).toEqual(['local']);
  });
});

describe('schema: cluster fields', () => {
  const bad = (source: string, sync: string) => {
    try {
      policy(source, sync);
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };
  it('rejects malformed names, "*" with others, duplicates and an empty list, naming the field', () => {
    expect(bad(', cluster: "a b"', '')).toMatch(/p\.yaml:5:\d+: spec\.source\.cluster: must be a cluster name/);
    expect(bad('', ', clusters: ["*", edge]')).toMatch(/spec\.sync\.clusters: "\*" already means every cluster/);
    expect(bad('', ', clusters: [edge, edge]')).toMatch(/spec\.sync\.clusters\[1\]: cluster "edge" is listed twice/);
    expect(bad('', ', clusters: []')).toMatch(/spec\.sync\.clusters: must list at least one cluster/);
    expect(bad('', ', clusters: "*"')).toMatch(/spec\.sync\.clusters/);
  });
});

describe('ripple validate: cluster names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ripple-fleet-'));
  const file = join(dir, 'fleet.yaml');
  writeFileSync(
    file,
    `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: regcred }
spec:
  source: { kind: Secret, namespace: platform, name: regcred, cluster: hub }
  sync:
    clusters:
      - edge
      - prod
`,
  );
  it('checks names against the stage when it knows them, at the line that names the cluster', () => {
    const out = validate([file], ['hub', 'edge']);
    expect(out.ok).toBe(false);
    expect(out.lines).toEqual([`${file}:9:9: spec.sync.clusters[1]: cluster "prod" is not a cluster of the stage (hub, edge); name one of them, or add it to the stage's clusters`]);
    expect(validate([file], ['hub', 'edge', 'prod']).ok).toBe(true);
  });
  it('does not check when the stage is unknown', () => {
    expect(validate([file]).ok).toBe(true);
  });
  it('learns the stage from --clusters, else RIPPLE_CLUSTER_NAME and RIPPLE_CLUSTERS (a list or the JSON object)', () => {
    expect(knownClusters('hub, edge', { RIPPLE_CLUSTERS: 'x' })).toEqual(['hub', 'edge']);
    expect(knownClusters(undefined, { RIPPLE_CLUSTER_NAME: 'hub', RIPPLE_CLUSTERS: '{"hub":{},"edge":{"region":"us-east-1"}}' })).toEqual(['hub', 'edge']);
    expect(knownClusters(undefined, { RIPPLE_CLUSTER_NAME: 'hub', RIPPLE_CLUSTERS: '[{"name":"hub"},{"name":"us","region":"us-east-1"},"edge"]' })).toEqual(['hub', 'us', 'edge']);
    expect(knownClusters(undefined, {})).toBeNull();
  });
});
