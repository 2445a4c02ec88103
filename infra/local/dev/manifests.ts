/**
 * infra/k8s as `kubectl apply -k` would see it (plain kustomize `resources:` lists of files and directories; no
 * patches or generators), and create-or-replace of the objects through client-node.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export interface Manifest {
  file: string;
  object: KubernetesObject & Record<string, unknown>;
}

/** Objects of a kustomization directory, in order; `missing` lists resources it names that do not exist. */
export function readKustomization(dir: string, root = dir): { manifests: Manifest[]; missing: string[] } {
  const manifests: Manifest[] = [];
  const missing: string[] = [];
  const kfile = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!kfile) return { manifests, missing: [relative(root, dir) || '.'] };
  const k = (parseAllDocuments(readFileSync(kfile, 'utf8'))[0]?.toJS() ?? {}) as { resources?: string[] };
  for (const res of k.resources ?? []) {
    const p = join(dir, res);
    if (!existsSync(p)) {
      missing.push(relative(root, p));
      continue;
    }
    if (statSync(p).isDirectory()) {
      const sub = readKustomization(p, root);
      manifests.push(...sub.manifests);
      missing.push(...sub.missing);
      continue;
    }
    for (const doc of parseAllDocuments(readFileSync(p, 'utf8'))) {
      const obj = doc.toJS() as Manifest['object'] | null;
      if (obj && typeof obj === 'object' && obj.kind) manifests.push({ file: relative(root, p), object: obj });
    }
  }
  return { manifests, missing };
}

/** Create each object, or replace it when it exists (keeping its resourceVersion). */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[]): Promise<Array<{ ref: string; action: 'created' | 'replaced' | 'failed'; error?: string }>> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const results: Array<{ ref: string; action: 'created' | 'replaced' | 'failed'; error?: string }> = [];
  for (const obj of objects) {
    const ref = `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
    try {
      await api.create(obj);
      results.push({ ref, action: 'created' });
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code !== 409) {
        results.push({ ref, action: 'failed', error: errorText(err) });
        continue;
      }
      try {
        const current = await api.read({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata?.name as string, namespace: obj.metadata?.namespace as string } });
        await api.replace({ ...obj, metadata: { ...obj.metadata, resourceVersion: current.metadata?.resourceVersion } });
        results.push({ ref, action: 'replaced' });
      } catch (e2) {
        results.push({ ref, action: 'failed', error: errorText(e2) });
      }
    }
  }
  return results;
}

export function errorText(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return body.slice(0, 300);
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return err instanceof Error ? err.message : String(err);
}
