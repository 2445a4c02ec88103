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

  it('checks ripple.config.yaml next to the policies: the Reloader mode, or file:line:col errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ripple-validate-config-'));
    writeFileSync(join(dir, 'p.yaml'), readFileSync('policies/blogsecret.yaml', 'utf8'));
    writeFileSync(join(dir, 'ripple.config.yaml'), 'apiVersion: ripple.dev/v1alpha1\nkind: RippleConfig\nreloader:\n  enabled: true\n  reloadOnDelete: true\n');
    let r = ripple('validate', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${join(dir, 'ripple.config.yaml')}: valid; Reloader mode on (namespaces *; Secret, ConfigMap -> Deployment, StatefulSet, DaemonSet, CronJob; reloadOnDelete)`);
    // the copy modes: one line each
    writeFileSync(join(dir, 'ripple.config.yaml'), 'apiVersion: ripple.dev/v1alpha1\nkind: RippleConfig\nreflector: { enabled: true, namespaces: { exclude: [legacy] } }\nreplicator: { enabled: true, pushFrom: [platform] }\n');
    r = ripple('validate', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${join(dir, 'ripple.config.yaml')}: reflector annotations on (namespaces * minus legacy; Secret, ConfigMap)`);
    expect(r.stdout).toContain(`${join(dir, 'ripple.config.yaml')}: replicator annotations on (namespaces *; Secret, ConfigMap; pushes only from platform)`);
    writeFileSync(join(dir, 'ripple.config.yaml'), 'apiVersion: ripple.dev/v1alpha1\nkind: RippleConfig\nreloader:\n  enabled: yes please\n');
    r = ripple('validate', dir);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`${join(dir, 'ripple.config.yaml')}:4:12: reloader.enabled: must be true or false, not string "yes please"`);
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

  it('warns about the other objects in a file (the base Secret, its Namespace) on stderr and imports the policy', () => {
    const file = 'test/fixtures/kyverno/cpol-clone-sync-delete-source/policy.yaml';
    const r = ripple('import', 'kyverno', file);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      `warning: ${file}:2:7: kind: Namespace cpol-clone-sync-delete-source-ns is not a Kyverno policy, so it is not imported: apply it with kubectl`,
      `warning: ${file}:9:7: kind: Secret cpol-clone-sync-delete-source-ns/regcred is not a Kyverno policy, so it is not imported (ripple copies an existing base; it does not create one): apply it with kubectl`,
    ]);
    expect(r.stdout).toContain('  source:\n    kind: Secret\n    namespace: cpol-clone-sync-delete-source-ns\n    name: regcred\n');
    expect(r.stderr).not.toContain('YmFy'); // the Secret's data is never echoed
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

describe('ripple render', () => {
  it('--check passes on the repository (rendered files are current)', () => {
    const r = ripple('render', 'all', '--check');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('writes under --out, and removes a stale generated admission policy', () => {
    const out = mkdtempSync(join(tmpdir(), 'ripple-render-'));
    expect(ripple('render', 'admission', '--out', out).code).toBe(0);
    expect(readFileSync(join(out, 'infra/k8s/admission/blogsecret.yaml'), 'utf8')).toBe(readFileSync('infra/k8s/admission/blogsecret.yaml', 'utf8'));
    const stale = join(out, 'infra/k8s/admission/gone.yaml');
    writeFileSync(stale, '# Generated by `ripple render admission` from the RipplePolicies in policies/. Do not edit by hand.\n');
    const handWritten = join(out, 'infra/k8s/admission/extra.yaml');
    writeFileSync(handWritten, 'kind: ConfigMap\n');
    const check = ripple('render', 'admission', '--out', out, '--check');
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('infra/k8s/admission/gone.yaml: stale (no policy renders it)');
    const r = ripple('render', 'admission', '--out', out);
    expect(r.stdout).toContain('removed infra/k8s/admission/gone.yaml (stale)');
    expect(() => readFileSync(stale)).toThrow();
    expect(readFileSync(handWritten, 'utf8')).toBe('kind: ConfigMap\n');
  });

  it('fails with the policy errors when policies are invalid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ripple-render-bad-'));
    writeFileSync(join(dir, 'p.yaml'), 'apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata: { name: x }\nspec: { source: { kind: Secret, namespace: a, name: x }, protect: { mode: block } }\n');
    const r = ripple('render', 'patterns', '--policies', dir, '--stdout');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('p.yaml:4:75: spec.protect.mode: must be one of enforce, audit');
  });

  it('rejects an unknown target', () => {
    const r = ripple('render', 'everything');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown target "everything"');
  });
});
