import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The real CLI, run as a process with the project's Node (node_modules/.bin first on PATH under npm/vitest).
function ripple(...args: string[]) {
  const r = spawnSync(process.execPath, ['cli/ripple.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ripple validate', () => {
  it('accepts policies/ (the default) and exits 0', () => {
    const r = ripple('validate');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('blogsecret: Secret platform/blogsecret (protect, sync, reload)');
  });

  it('exits non-zero with file:line:col messages', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ripple-validate-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata: { name: x }\nspec:\n  source: { kind: Secret, namespace: a, name: x }\n  sync: { onSourceDelete: remove }\n');
    const r = ripple('validate', file);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`${file}:6:27: spec.sync.onSourceDelete: must be one of keep, delete`);
  });

  it('points Kyverno files at the importer', () => {
    const r = ripple('validate', 'policies/kyverno');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('policies/kyverno/validate-secrets.yaml:2:7: kind: must be "RipplePolicy" (this is a Kyverno ClusterPolicy: convert it with `ripple import kyverno');
  });
});

describe('ripple import kyverno', () => {
  it('prints exactly policies/blogsecret.yaml for the article\'s policies', () => {
    const r = ripple('import', 'kyverno', 'policies/kyverno/validate-secrets.yaml', 'policies/kyverno/generate-secret.yaml', 'policies/kyverno/restart-deployment-on-secret-change.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync('policies/blogsecret.yaml', 'utf8'));
  });

  it('exits non-zero naming the unsupported construct, writing nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ripple-import-'));
    const file = join(dir, 'k.yaml');
    const out = join(dir, 'out.yaml');
    writeFileSync(file, readFileSync('policies/kyverno/validate-secrets.yaml', 'utf8').replace('- cluster-admin', '- edit'));
    const r = ripple('import', 'kyverno', file, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:22:11: spec.rules[0].exclude.any[0].clusterRoles[0]: ClusterPolicy validate-secrets, rule protect-blogsecret: exclude clusterRoles "edit" is not supported`);
    expect(() => readFileSync(out)).toThrow();
  });
});
