/**
 * The deploy-time reconcile's retry budget against what serverless.yml gives it: the pauses between attempts
 * (a 401 right after the access entry is created is the usual reason) are long enough for EKS to accept the new
 * principal, and short enough that the last attempt and the answer fit the clone function's timeout and the
 * custom resource's ServiceTimeout. `associationsOf` reads only string ARNs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ASSOCIATION_SETTLE_MS, associationsOf, CFN_RETRY_DELAYS_MS } from '../../../../functions/clone/deploy-checks.ts';

const root = join(import.meta.dirname, '../../../..');

describe('deploy-time reconcile retries', () => {
  const sls = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'));
  const bus = readFileSync(join(root, 'infra/aws/bus.yml'), 'utf8');
  const serviceTimeout = Number(/ServiceTimeout: (\d+)/.exec(bus)?.[1]);
  const fnTimeout = Number(sls.functions.clone.timeout);
  const total = CFN_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
  // Each attempt can take a kube request timeout (10 s) for the first failing call; the answer needs a PUT (10 s);
  // a restart for a new association waits ASSOCIATION_SETTLE_MS once per cluster (three clusters added at once).
  const worstAttempts = (CFN_RETRY_DELAYS_MS.length + 1) * 10_000 + 10_000 + 3 * ASSOCIATION_SETTLE_MS;

  it('retries for over a minute (the old budget was ~7 s)', () => {
    expect(total).toBeGreaterThanOrEqual(60_000);
  });

  it('the pauses plus slow attempts, three restarts and the answer fit the function timeout and the custom resource ServiceTimeout', () => {
    expect(serviceTimeout).toBeGreaterThan(0);
    expect(total + worstAttempts).toBeLessThan(Math.min(fnTimeout, serviceTimeout) * 1000);
  });

  it('pauses never shrink (backoff)', () => {
    for (let i = 1; i < CFN_RETRY_DELAYS_MS.length; i++) expect(CFN_RETRY_DELAYS_MS[i]).toBeGreaterThanOrEqual(CFN_RETRY_DELAYS_MS[i - 1]!);
  });
});

describe('associationsOf', () => {
  it('keeps string ARNs per cluster; anything else is no association', () => {
    expect(associationsOf({ ForwarderAssociations: { a: 'arn:1', b: '', c: 3, d: { 'Fn::GetAtt': ['x', 'y'] } } })).toEqual({ a: 'arn:1' });
    expect(associationsOf({ ForwarderAssociations: ['arn'] })).toEqual({});
    expect(associationsOf(undefined)).toEqual({});
  });
});
