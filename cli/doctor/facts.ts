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
