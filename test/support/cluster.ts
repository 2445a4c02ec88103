/**
 * One embedded cluster per test file, driven the way users drive it: kubectl 1.32 with a kubeconfig on disk,
 * @kubernetes/client-node, and raw HTTPS requests carrying the kubeconfig's credentials (for what neither client
 * sends, e.g. DeleteOptions in a body together with query options).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startCluster, type StartClusterOptions, type EmbeddedCluster } from '../../infra/local/cluster/index.ts';

export const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

export interface RawResponse { code: number; headers: Record<string, string | string[] | undefined>; body: any; text: string }

export interface ClusterHarness {
  cluster: EmbeddedCluster;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  /** kubectl with the admin kubeconfig: exit code and stdout+stderr */
  kubectl(args: string[], input?: string): Promise<{ code: number; out: string; stdout: string }>;
  /** An HTTPS request as admin; `body` is sent as JSON unless it is a string (then as `contentType`). */
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
  /** A namespace with a fresh name (`prefix-xxxxxx`), created. */
  namespace(prefix: string): Promise<string>;
  stop(): Promise<void>;
}

export async function clusterHarness(opts: StartClusterOptions = {}): Promise<ClusterHarness> {
  const cluster = await startCluster(opts);
  const kc = cluster.kubeConfig();
  const dir = mkdtempSync(join(tmpdir(), 'ripple-cluster-'));
  writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig(), { mode: 0o600 });
  const env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const harness: ClusterHarness = {
    cluster,
    kc,
    core,
    apps,
    kubectl(args, input) {
      return new Promise((resolve) => {
        const child = execFile('kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr, stdout });
        });
        if (input !== undefined) child.stdin?.end(input);
      });
    },
    async raw(method, path, body, headers = {}) {
      const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const h: Record<string, string | number> = { ...headers };
      if (text !== undefined) {
        h['Content-Type'] ??= 'application/json';
        // framed: node's client sends a DELETE body unframed otherwise
        h['Content-Length'] = Buffer.byteLength(text);
      }
      const reqOpts: any = { method, headers: h };
      await kc.applyToHTTPSOptions(reqOpts);
      const url = new URL(path, kc.getCurrentCluster()!.server);
      return new Promise((resolve, reject) => {
        const req = request(url, reqOpts, (res) => {
          let out = '';
          res.on('data', (d) => { out += String(d); });
          res.on('end', () => {
            resolve({ code: res.statusCode ?? 0, headers: res.headers, body: parseJson(out), text: out });
          });
        });
        req.on('error', reject);
        req.end(text);
      });
    },
    async namespace(prefix) {
      const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
      await core.createNamespace({ body: { metadata: { name } } });
      return name;
    },
    async stop() {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

function parseJson(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Polls `check` (every 20 ms, up to `ms`) until it returns a truthy value; returns it, or throws `what` timed out. */
export async function eventually<T>(what: string, check: () => Promise<T> | T, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A minimal Deployment. */
export function deployment(name: string, extra: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name }, ...extra },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  };
}
