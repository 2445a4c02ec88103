/** `ripple doctor`: what the checks learn and pass on (the stack, the association, the forwarder pods), and their wording helpers. */

export interface StackFacts {
  name: string;
  region: string;
  account: string;
  partition: string;
  outputs: Record<string, string>;
  physical: Record<string, string>;
  clusters: string[];
  /** Association ARN per cluster, as the stack created it. */
  associations: Record<string, string>;
  busName: string;
  /**
   * Where each cluster is (the stack output StageClusters; without it, every cluster with an association, local):
   * `local` the stack's account and region, `region` another region, `account` another account (docs/fleet.md).
   */
  placement: Record<string, ClusterPlacement>;
}

export interface ClusterPlacement {
  kind: 'local' | 'region' | 'account';
  region: string;
  accountId?: string;
}

/** The StageClusters output (`hub=eu-west-1,us=us-east-1,edge=eu-central-1/210987654321`), or null. */
export function parseStageClusters(value: string | undefined, stackRegion: string): Record<string, ClusterPlacement> | null {
  if (!value) return null;
  const out: Record<string, ClusterPlacement> = {};
  for (const part of value.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([^=]+)=([a-z0-9-]*)(?:\/(\d{12}))?$/.exec(part);
    if (!m) continue;
    const region = m[2] || stackRegion;
    out[m[1]!] = m[3] ? { kind: 'account', region, accountId: m[3] } : { kind: region === stackRegion ? 'local' : 'region', region };
  }
  return Object.keys(out).length ? out : null;
}

export interface AssociationFacts {
  arn: string;
  createdAt: Date | null;
}

export interface Pod {
  metadata?: { name?: string; creationTimestamp?: string | Date };
  spec?: { containers?: { name?: string; env?: { name: string }[] }[] };
  status?: { phase?: string };
}

export const errName = (err: unknown) => (err as { name?: string }).name ?? 'Error';
export const errText = (err: unknown) => `${errName(err)}: ${(err as Error).message}`;
export const iso = (d: Date | number) => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const ago = (ms: number) => (ms < 90_000 ? `${Math.round(ms / 1000)}s` : ms < 5_400_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

/** The EKS cluster name a kubeconfig context points at (`arn:...:cluster/NAME`, `NAME.<region>.eksctl.io`, or as is). */
export function clusterFromContext(clusterEntry: string | undefined, known: string[]): string | null {
  if (!clusterEntry) return null;
  const arn = /:cluster\/([^/]+)$/.exec(clusterEntry);
  const candidates = [arn?.[1], clusterEntry.split('.')[0], clusterEntry].filter((x): x is string => !!x);
  return candidates.find((c) => known.includes(c)) ?? null;
}
