/**
 * Conformance, sig-cli (test/e2e/kubectl): the kubectl entries about the API server, with kubectl 1.32. Entries that
 * need Pods to run (logs, exec, proxy to pods, guestbook, ReplicationControllers) are out of scope:
 * docs/embedded-cluster.md, "Conformance".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterHarness, hasKubectl, type ClusterHarness } from '../../../support/cluster.ts';

let h: ClusterHarness;
let ns: string;

beforeAll(async () => {
  h = await clusterHarness();
  ns = await h.namespace('kubectl');
});
afterAll(async () => {
  await h?.stop();
});

const HTTPD = 'registry.k8s.io/e2e-test-images/httpd:2.4.38-4';
const BUSYBOX = 'registry.k8s.io/e2e-test-images/busybox:1.36.1-1';

describe.skipIf(!hasKubectl)('Kubectl client', () => {
  it('Kubectl, check version v1', async () => {
    const r = await h.kubectl(['api-versions']);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout.split('\n')).toContain('v1');
  });

  it('Kubectl, version', async () => {
    const r = await h.kubectl(['version']);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/Client Version: v1\.\d+/);
    expect(r.stdout).toMatch(/Server Version: v\d+\.\d+/);
  });

  it('Kubectl, cluster info', async () => {
    const r = await h.kubectl(['cluster-info']);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain('Kubernetes control plane');
    expect(r.stdout).toContain('is running at');
  });

  it('Kubectl, run pod', async () => {
    const r = await h.kubectl(['run', 'e2e-test-httpd-pod', `--image=${HTTPD}`, '--restart=Never', '--pod-running-timeout=2m0s', '-n', ns]);
    expect(r.code, r.out).toBe(0);
    const pod = await h.core.readNamespacedPod({ name: 'e2e-test-httpd-pod', namespace: ns });
    expect(pod.spec?.containers.map((c) => c.image)).toEqual([HTTPD]);
    expect(pod.spec?.restartPolicy).toBe('Never');
  });

  it('Kubectl, server-side dry-run Pod', async () => {
    expect((await h.kubectl(['run', 'e2e-test-dry-run-pod', `--image=${HTTPD}`, '--labels=run=e2e-test-dry-run-pod', '-n', ns])).code).toBe(0);
    const patch = JSON.stringify({ spec: { containers: [{ name: 'e2e-test-dry-run-pod', image: BUSYBOX }] } });
    const r = await h.kubectl(['patch', 'pod', 'e2e-test-dry-run-pod', '-p', patch, '--dry-run=server', '-n', ns]);
    expect(r.code, r.out).toBe(0);
    const pod = await h.core.readNamespacedPod({ name: 'e2e-test-dry-run-pod', namespace: ns });
    expect(pod.spec?.containers[0].image).toBe(HTTPD);
  });

  it('Kubectl, label update', async () => {
    expect((await h.kubectl(['run', 'pause', '--image=registry.k8s.io/pause:3.10', '-n', ns])).code).toBe(0);
    expect((await h.kubectl(['label', 'pods', 'pause', 'testing-label=testing-label-value', '-n', ns])).code).toBe(0);
    const shown = await h.kubectl(['get', 'pod', 'pause', '-L', 'testing-label', '-n', ns]);
    expect(shown.stdout).toMatch(/TESTING-LABEL[\s\S]*testing-label-value/);
    expect((await h.kubectl(['label', 'pods', 'pause', 'testing-label-', '-n', ns])).code).toBe(0);
    const gone = await h.kubectl(['get', 'pod', 'pause', '-L', 'testing-label', '-n', ns]);
    expect(gone.stdout).not.toContain('testing-label-value');
  });

  it('Kubectl, replace', async () => {
    expect((await h.kubectl(['run', 'e2e-test-httpd-pod-replace', `--image=${HTTPD}`, '--labels=run=e2e-test-httpd-pod', '-n', ns])).code).toBe(0);
    const json = (await h.kubectl(['get', 'pod', 'e2e-test-httpd-pod-replace', '-n', ns, '-o', 'json'])).stdout;
    const replaced = json.replace(HTTPD, BUSYBOX);
    const r = await h.kubectl(['replace', '-f', '-', '-n', ns], replaced);
    expect(r.code, r.out).toBe(0);
    expect((await h.core.readNamespacedPod({ name: 'e2e-test-httpd-pod-replace', namespace: ns })).spec?.containers[0].image).toBe(BUSYBOX);
  });

  it('Kubectl, diff Deployment', async () => {
    const dep = (image: string) => JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'httpd-deployment', namespace: ns, labels: { app: 'httpd' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'httpd' } }, template: { metadata: { labels: { app: 'httpd' } }, spec: { containers: [{ name: 'httpd', image }] } } } });
    const applied = await h.kubectl(['apply', '-f', '-'], dep(HTTPD));
    expect(applied.code, applied.out).toBe(0);
    const diff = await h.kubectl(['diff', '-f', '-'], dep(BUSYBOX));
    // exit 1: a difference was found
    expect(diff.code, diff.out).toBe(1);
    expect(diff.stdout).toMatch(new RegExp(`^-\\s+- image: ${HTTPD.replace(/\./g, '\\.')}$`, 'm'));
    expect(diff.stdout).toMatch(new RegExp(`^\\+\\s+- image: ${BUSYBOX.replace(/\./g, '\\.')}$`, 'm'));
    // diff is a server-side dry run: nothing changed
    expect((await h.apps.readNamespacedDeployment({ name: 'httpd-deployment', namespace: ns })).spec?.template.spec?.containers[0].image).toBe(HTTPD);
  });
});
