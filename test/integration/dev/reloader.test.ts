/**
 * `ripple dev` with the Reloader mode on (policies/ripple.config.yaml), in-process: dev renders the mode's pattern,
 * RBAC and settings, wires them like serverless.yml (the rollout queue, the pause-period schedule) and a kubectl
 * user's annotated Deployment restarts when its Secret changes: no policy names it. A service directory built
 * from the repository's pieces (a re-render must not write into the repository).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDev } from '../../../infra/local/dev/index.ts';
import { createOutput } from '../../../infra/local/dev/output.ts';
import { hasKubectl } from '../../support/cluster.ts';
import { kubectlWith as kubectl, serviceCopy } from '../../support/service.ts';

describe.skipIf(!hasKubectl)('ripple dev with the Reloader mode', () => {
  it('renders and wires the mode; an annotated Deployment restarts when its Secret changes', { timeout: 120_000 }, async () => {
    // Prepare: the repository's service with the mode turned on
    const dir = serviceCopy('ripple-dev-reloader-');
    writeFileSync(join(dir, 'policies', 'ripple.config.yaml'), 'apiVersion: ripple.dev/v1alpha1\nkind: RippleConfig\nreloader:\n  enabled: true\n  coalesce: 1s\n');
    let text = '';
    const out = createOutput((s) => void (text += s), { color: false, logs: 'none' });
    const session = await startDev({ cwd: dir, stateDir: mkdtempSync(join(tmpdir(), 'ripple-dev-reloader-state-')), scenario: false }, out);
    try {
      // Assess the wiring: re-rendered for the mode, its RBAC applied, the sweep scheduled
      expect(text).toMatch(/re-rendering .*events\/patterns\/rollout\.json/);
      expect(readFileSync(join(dir, 'infra', 'k8s', 'rbac', 'rollout-reloader.yaml'), 'utf8')).toContain('ripple-rollout-reloader');
      expect(text).toContain('rate(1 minute) -> rollout');
      expect(text).toContain('Reloader mode on (policies/ripple.config.yaml): namespaces *; Secret, ConfigMap -> Deployment, StatefulSet, DaemonSet, CronJob');
      const kc = session.kubeconfigPath;
      expect(await kubectl(kc, ['get', 'clusterrole', 'ripple-rollout-reloader', '-o', 'name'])).toContain('ripple-rollout-reloader');

      // Act: a team's Secret and its annotated Deployment, then an edit of the Secret
      await kubectl(kc, ['create', 'namespace', 'shop']);
      await kubectl(kc, ['create', 'secret', 'generic', 'db', '-n', 'shop', '--from-literal=password=one']);
      await kubectl(kc, ['apply', '-f', '-'], `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop, annotations: { reloader.stakater.com/auto: "true" } }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: registry.example/web:1, envFrom: [{ secretRef: { name: db } }] }] }
`);
      await kubectl(kc, ['patch', 'secret', 'db', '-n', 'shop', '-p', JSON.stringify({ stringData: { password: 'two' } })]);

      // Assess: restarted once, recorded
      const until = Date.now() + 60_000;
      let ann = '';
      while (Date.now() < until) {
        ann = await kubectl(kc, ['get', 'deployment', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.template.metadata.annotations.ripple\\.dev/restarted-for}']);
        if (ann) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(ann).toMatch(/^Secret\/db=hmac-sha256:[0-9a-f]+$/);
      expect(await kubectl(kc, ['get', 'deployment', 'web', '-n', 'shop', '-o', 'jsonpath={.metadata.generation}'])).toBe('2');
    } finally {
      await session.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
