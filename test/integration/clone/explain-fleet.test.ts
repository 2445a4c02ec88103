/**
 * `ripple explain --clusters hub,edge`: the dry run across a fleet (two embedded clusters, RBAC enforced), through
 * the real CLI process and a kubeconfig with one context per cluster (as `.ripple/kubeconfig`): per policy its
 * placement, then the rows per target cluster; the source is read in its own cluster, each cluster's copies are
 * compared under that cluster's fingerprint key, nothing is written. A cluster without a context is noted.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainFleet } from '../../../cli/explain/explain.ts';
import { policiesFrom } from './harness.ts';
import { startFleet, type Fleet } from './fleet-harness.ts';

const YAML = `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: regcred }
spec:
  source: { kind: Secret, namespace: platform, name: regcred, cluster: hub }
  sync:
    clusters: [edge]
    namespaces: { include: ["team-*"] }
`;
const POLICIES = policiesFrom(YAML);
const root = join(import.meta.dirname, '../../..');

let fleet: Fleet;
let dir = '';
let kubeconfig = '';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/ripple.ts', ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

beforeAll(async () => {
  fleet = await startFleet(['hub', 'edge'], POLICIES);
  const { hub, edge } = fleet.members;
  await hub!.admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'regcred' }, stringData: { token: 'v1' } } });
  for (const m of [hub!, edge!]) for (const ns of ['team-a', 'team-b']) await m.admin.core.createNamespace({ body: { metadata: { name: ns } } });
  // edge already has team-a's copy (made by a run), team-b has none yet
  await fleet.handler()(fleet.resyncEvent('edge'));
  await edge!.admin.core.deleteNamespacedSecret({ namespace: 'team-b', name: 'regcred' });
  // one kubeconfig, a context per cluster named after it
  dir = mkdtempSync(join(tmpdir(), 'ripple-explain-fleet-'));
  const merged = new KubeConfig();
  const parts = [hub!, edge!].map((m) => {
    const kc = m.cluster.kubeConfig();
    return { name: m.name, cluster: { ...kc.getCurrentCluster()!, name: m.name }, user: { ...kc.getCurrentUser()!, name: `${m.name}-admin` } };
  });
  merged.loadFromOptions({
    clusters: parts.map((p) => p.cluster),
    users: parts.map((p) => p.user),
    contexts: parts.map((p) => ({ name: p.name, cluster: p.name, user: p.user.name })),
    currentContext: 'hub',
  });
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, merged.exportConfig());
  writeFileSync(join(dir, 'regcred.yaml'), YAML);
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ripple explain across a fleet', () => {
  it('per policy its placement; rows only for the target cluster, the source read in hub; nothing written', async () => {
    // Prepare
    fleet.resetWrites();
    const kubes = { hub: fleet.members.hub!.admin, edge: fleet.members.edge!.admin } as Record<string, typeof fleet.members.hub.admin>;
    // Act
    const r = await explainFleet((c) => kubes[c] ?? null, ['hub', 'edge', 'far'], POLICIES);
    // Assess
    expect(r.placements).toEqual([{ policy: 'regcred', source: 'hub', targets: ['edge'] }]);
    expect(new Set(r.rows.map((x) => x.cluster))).toEqual(new Set(['edge']));
    const rows = r.rows.filter((x) => x.namespace.startsWith('team-')).map((x) => `${x.cluster} ${x.namespace} ${x.action}`);
    expect(rows).toEqual(['edge team-a skip', 'edge team-b create']);
    expect(r.rows.filter((x) => x.action !== 'skip')).toHaveLength(1);
    expect(r.notes).toEqual([]);
    expect(fleet.writes('hub')).toEqual([]);
    expect(fleet.writes('edge')).toEqual([]);
  });

  it('a cluster of the stage without a context is noted, not explained', async () => {
    const r = await explainFleet((c) => (c === 'hub' ? fleet.members.hub!.admin : null), ['hub', 'edge'], POLICIES);
    expect(r.rows).toEqual([]);
    expect(r.notes).toEqual(['cluster edge: no kubeconfig context named edge (aws eks update-kubeconfig --name edge --alias edge); not explained']);
  });

  it('the CLI: --clusters hub,edge prints the placement and a CLUSTER column; JSON carries both', async () => {
    const table = await cli(['explain', '--kubeconfig', kubeconfig, '--policies', dir, '--clusters', 'hub,edge']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toBe('policy regcred: source in hub, copies in edge');
    expect(lines[2]).toMatch(/^CLUSTER +POLICY +KIND +NAMESPACE/);
    expect(lines.filter((l) => /^edge +regcred +Secret +team-b +regcred +create/.test(l))).toHaveLength(1);
    expect(lines.some((l) => l.startsWith('hub '))).toBe(false);
    const json = JSON.parse((await cli(['explain', '--kubeconfig', kubeconfig, '--policies', dir, '--clusters', 'hub,edge', '-o', 'json'])).stdout);
    expect(json.placements).toEqual([{ policy: 'regcred', source: 'hub', targets: ['edge'] }]);
    expect(json.rows.filter((x: { namespace: string }) => x.namespace.startsWith('team-')).map((x: { cluster: string; namespace: string }) => `${x.cluster}/${x.namespace}`)).toEqual(['edge/team-a', 'edge/team-b']);
  });
});
