/**
 * `ripple dev` with Reflector's and Replicator's annotations on (policies/ripple.config.yaml), in-process: dev
 * renders the modes' clone pattern, RBAC and admission and applies them; kubectl users annotate their Secrets as
 * they would with Reflector or Replicator installed, and no policy names them. A service directory built from the
 * repository's pieces (a re-render must not write into the repository).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDev } from '../../../infra/local/dev/index.ts';
import { createOutput } from '../../../infra/local/dev/output.ts';
import { hasKubectl } from '../../support/cluster.ts';
import { kubectlWith as kubectl, serviceCopy } from '../../support/service.ts';

async function until(what: string, probe: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!hasKubectl)('ripple dev with the copy modes', () => {
  it('renders and applies the modes; Reflector and Replicator annotation examples work, a refused pull is reported', { timeout: 120_000 }, async () => {
    // Prepare: the repository's service with both modes turned on
    const dir = serviceCopy('ripple-dev-copies-');
    writeFileSync(join(dir, 'policies', 'ripple.config.yaml'), 'apiVersion: ripple.dev/v1alpha1\nkind: RippleConfig\nreflector: { enabled: true }\nreplicator: { enabled: true }\n');
    let text = '';
    const out = createOutput((s) => void (text += s), { color: false, logs: 'none' });
    const session = await startDev({ cwd: dir, stateDir: mkdtempSync(join(tmpdir(), 'ripple-dev-copies-state-')), scenario: false }, out);
    try {
      // Assess the wiring
      expect(text).toMatch(/re-rendering .*events\/patterns\/clone\.json/);
      expect(readFileSync(join(dir, 'infra', 'k8s', 'rbac', 'clone-copy-modes.yaml'), 'utf8')).toContain('ripple-clone-copy-modes-write');
      expect(text).toContain('reflector annotations on (policies/ripple.config.yaml): namespaces *; Secret, ConfigMap');
      const kc = session.kubeconfigPath;
      expect(await kubectl(kc, ['get', 'clusterrole', 'ripple-clone-copy-modes-read', '-o', 'name'])).toContain('ripple-clone-copy-modes-read');

      // Act: Reflector's README: a source allowing and auto-reflecting into team-*; Replicator's: a pull
      for (const ns of ['certs', 'team-a', 'other']) await kubectl(kc, ['create', 'namespace', ns]);
      await kubectl(kc, ['apply', '-f', '-'], `apiVersion: v1
kind: Secret
metadata:
  name: wildcard-tls
  namespace: certs
  annotations:
    reflector.v1.k8s.emberstack.com/reflection-allowed: "true"
    reflector.v1.k8s.emberstack.com/reflection-allowed-namespaces: "team-.*"
    reflector.v1.k8s.emberstack.com/reflection-auto-enabled: "true"
    replicator.v1.mittwald.de/replication-allowed: "true"
    replicator.v1.mittwald.de/replication-allowed-namespaces: "team-[a-z]"
stringData: { tls.crt: one }
---
apiVersion: v1
kind: Secret
metadata:
  name: tls-replica
  namespace: team-a
  annotations: { replicator.v1.mittwald.de/replicate-from: certs/wildcard-tls }
---
apiVersion: v1
kind: Secret
metadata:
  name: tls-replica
  namespace: other
  annotations: { replicator.v1.mittwald.de/replicate-from: certs/wildcard-tls }
`);
      const get = (ns: string, name: string) => kubectl(kc, ['get', 'secret', name, '-n', ns, '-o', 'jsonpath={.data.tls\\.crt}']).catch(() => '');
      await until('auto reflection into team-a', async () => (await get('team-a', 'wildcard-tls')) === Buffer.from('one').toString('base64'));
      await until('pull into team-a', async () => (await get('team-a', 'tls-replica')) === Buffer.from('one').toString('base64'));
      await until('refused pull reported in other', async () => (await kubectl(kc, ['get', 'events', '-n', 'other', '-o', 'jsonpath={.items[*].reason}'])).includes('PullRefused'));
      expect(await get('other', 'tls-replica')).toBe('');
      expect(await get('other', 'wildcard-tls')).toBe('');
    } finally {
      await session.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
