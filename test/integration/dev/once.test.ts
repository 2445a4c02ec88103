/**
 * `npm start -- --once` as CI runs it: the real CLI in a child process against the embedded cluster, with the
 * repository's serverless.yml, policies, infra/k8s, forwarder and handlers. Exit 0 only if every scenario step
 * converged; the narration names each step.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../../../infra/local/cluster/index.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'ripple-dev-'));

function rippleDev(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/ripple.ts', 'dev', ...args], { cwd: process.cwd(), timeout: 170_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0, stdout, stderr });
    });
  });
}

describe('ripple dev --once', () => {
  it('runs the article scenario through the whole pipeline and exits 0 when every step converged', { timeout: 180_000 }, async () => {
    // Act
    const r = await rippleDev('--once', '--logs', 'json', '--state-dir', stateDir, '--step-timeout', '60');
    // Assess
    const out = r.stdout + r.stderr;
    // Every function's and the forwarder's log lines are in the output: the base's values are in none of them,
    // neither in clear nor base64 (the scenario writes "initial value", then "rotated at <time>").
    expect(out).toMatch(/"service":"ripple-clone"/);
    expect(out).toMatch(/"service":"ripple-rollout"/);
    expect(out).toMatch(/"service":"ripple-protect"/);
    for (const secret of ['initial value', Buffer.from('initial value').toString('base64'), 'rotated at', Buffer.from('rotated a').toString('base64')]) {
      expect(out.includes(secret), `"${secret}" in the output`).toBe(false);
    }
    expect(out, out).toContain('all 8 steps converged');
    expect(r.code, out).toBe(0);
    for (const step of [
      '✓ copy created in team-a, team-b, team-c',
      '✓ namespace team-d created later gets a copy',
      '✓ base platform/blogsecret updated -> copies updated',
      '✓ Deployment team-a/blog rolled out: revision 1 -> 2',
      '✓ copy team-b/blogsecret deleted -> re-created',
      '✓ copy team-c/blogsecret edited (key password removed) -> reverted',
      '✓ alice deletes the base platform/blogsecret -> denied',
      '✓ dora deletes the namespace platform (to take the base with it) -> denied',
    ]) {
      expect(out).toContain(step);
    }
    expect(out).toContain('This Secret is protected and may not be altered or deleted.');
    expect(out).toContain("ValidatingAdmissionPolicy 'ripple-protect-blogsecret-namespace'");
    expect(out).toContain('Namespace platform holds Secret platform/blogsecret, protected by ripple policy blogsecret');
    // every path of serverless.yml carried events: the rules, the rollout queue and the audit-log subscription
    expect(out).toMatch(/rule ripple-dev-clone: \d+ ok/);
    expect(out).toMatch(/queue ripple-dev-rollout: \d+ ok/);
    expect(out).toMatch(/log subscription ripple-dev-protect-cloudwatchLog-\d+: \d+ ok/);
    expect(existsSync(join(stateDir, 'kubeconfig'))).toBe(true);
    expect(readdirSync(join(stateDir, 'dlq'))).toEqual([]);
  });
});

describe('ripple dev --once --kubeconfig FILE', () => {
  it('runs the same pipeline against a cluster it did not start (no audit log: said so)', { timeout: 180_000 }, async () => {
    // Prepare: a cluster the runner only knows by its kubeconfig
    const cluster = await startCluster({});
    const kubeconfig = join(stateDir, 'external-kubeconfig');
    writeFileSync(kubeconfig, cluster.kubeconfig());
    try {
      // Act
      const r = await rippleDev('--once', '--logs', 'none', '--kubeconfig', kubeconfig, '--state-dir', join(stateDir, 'external'), '--step-timeout', '60');
      // Assess
      const out = r.stdout + r.stderr;
      expect(r.code, out).toBe(0);
      expect(out).toContain(`from ${kubeconfig}`);
      expect(out).toContain("a real cluster's audit log is not readable locally");
      expect(out).toContain('all 8 steps converged');
    } finally {
      await cluster.stop();
    }
  });
});
