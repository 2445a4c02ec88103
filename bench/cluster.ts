/**
 * `npm run bench -- cluster`: the embedded API server under load, over HTTPS with keep-alive, as the admin.
 * - create 10,000 Secrets (32 in flight): requests/s, p50/p99 latency;
 * - list all 10,000 Secrets (one namespace, then all namespaces): p50/p99 and MB/s;
 * - watch fan-out: 20 watchers on the namespace, 1,000 updates; delivery latency from the start of the
 *   write to each watcher's receipt (p50/p99) and events/s delivered.
 * Prints figures only; nothing is asserted.
 */
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { startCluster, type EmbeddedCluster } from '../infra/local/cluster/index.ts';

const SECRETS = 10_000;
const CONCURRENCY = 32;
const LISTS = 20;
const WATCHERS = 20;
const UPDATES = 1_000;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}
const ms = (n: number) => `${n.toFixed(2)} ms`;

type Call = (method: string, path: string, body?: unknown, contentType?: string) => Promise<{ status: number; text: string }>;

/** JSON requests to the embedded cluster as admin, over one keep-alive agent. */
function caller(cluster: EmbeddedCluster, agent: Agent): Call {
  const base = new URL(cluster.url);
  return (method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({
        host: base.hostname, port: base.port, method, path, agent,
        headers: { Authorization: `Bearer ${cluster.adminToken}`, Accept: 'application/json', ...(payload ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(payload);
    });
}

async function creates(call: Call): Promise<void> {
  const createLat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < SECRETS) {
      const i = next++;
      const s = performance.now();
      const r = await call('POST', '/api/v1/namespaces/bench/secrets', {
        apiVersion: 'v1', kind: 'Secret', metadata: { name: `s-${i}`, labels: { app: 'bench', shard: String(i % 10) } },
        data: { key: Buffer.from(`value-${i}`).toString('base64') },
      });
      if (r.status !== 201) throw new Error(`create s-${i}: ${r.status} ${r.text}`);
      createLat.push(performance.now() - s);
    }
  }));
  const createSecs = (performance.now() - t0) / 1000;
  console.log(`create ${SECRETS} secrets (${CONCURRENCY} in flight): ${(SECRETS / createSecs).toFixed(0)} req/s, p50 ${ms(pct(createLat, 50))}, p99 ${ms(pct(createLat, 99))}`);

}

async function lists(call: Call): Promise<void> {
  for (const [label, path] of [['namespace', '/api/v1/namespaces/bench/secrets'], ['all namespaces', '/api/v1/secrets'], ['label selector shard=3', '/api/v1/namespaces/bench/secrets?labelSelector=shard%3D3']] as const) {
    const lat: number[] = [];
    let bytes = 0;
    let items = 0;
    const t = performance.now();
    for (let i = 0; i < LISTS; i++) {
      const s = performance.now();
      const r = await call('GET', path);
      lat.push(performance.now() - s);
      bytes += r.text.length;
      items = (JSON.parse(r.text).items as unknown[]).length;
    }
    const secs = (performance.now() - t) / 1000;
    console.log(`list ${label} (${items} items) x${LISTS}: ${(LISTS / secs).toFixed(1)} req/s, p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, ${(bytes / secs / 1e6).toFixed(1)} MB/s`);
  }

}

/** WATCHERS watches on the namespace, UPDATES patches: delivery rate and latency. */
async function watchFanOut(cluster: EmbeddedCluster, call: Call): Promise<void> {
  const base = new URL(cluster.url);
  const listRv = JSON.parse((await call('GET', '/api/v1/namespaces/bench/secrets?limit=1')).text).metadata.resourceVersion;
  const started = new Map<string, number>();
  const delivery: number[] = [];
  let received = 0;
  const watchAgent = new Agent({ keepAlive: false, ca: cluster.caCert, maxSockets: WATCHERS + 1 });
  const streams = await Promise.all(Array.from({ length: WATCHERS }, () => new Promise<import('node:http').ClientRequest>((resolve, reject) => {
    const req = request({
      host: base.hostname, port: base.port, method: 'GET', agent: watchAgent,
      path: `/api/v1/namespaces/bench/secrets?watch=true&resourceVersion=${listRv}`,
      headers: { Authorization: `Bearer ${cluster.adminToken}` },
    }, (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const ev = JSON.parse(line);
          const t = started.get(ev.object?.metadata?.resourceVersion ?? '') ?? started.get(ev.object?.metadata?.annotations?.n ?? '');
          if (t !== undefined) delivery.push(performance.now() - t);
          received++;
        }
      });
      resolve(req);
    });
    req.on('error', reject);
    req.end();
  })));
  const updLat: number[] = [];
  const tw = performance.now();
  for (let i = 0; i < UPDATES; i++) {
    const s = performance.now();
    started.set(String(i), s);
    const r = await call('PATCH', `/api/v1/namespaces/bench/secrets/s-${i % SECRETS}`, { metadata: { annotations: { n: String(i) } } }, 'application/merge-patch+json');
    if (r.status !== 200) throw new Error(`patch: ${r.status} ${r.text}`);
    updLat.push(performance.now() - s);
  }
  const end = performance.now() + 10_000;
  while (received < UPDATES * WATCHERS && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
  const wsecs = (performance.now() - tw) / 1000;
  console.log(`watch fan-out: ${UPDATES} updates x ${WATCHERS} watchers: ${received} events delivered, ${(received / wsecs).toFixed(0)} events/s; update p50 ${ms(pct(updLat, 50))}, p99 ${ms(pct(updLat, 99))}; delivery latency p50 ${ms(pct(delivery, 50))}, p99 ${ms(pct(delivery, 99))}`);
  for (const s of streams) s.destroy();
  watchAgent.destroy();
}

export async function run(): Promise<void> {
  const cluster = await startCluster({ watchHistory: 50_000, bookmarkIntervalMs: 0 });
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: cluster.caCert });
  const call = caller(cluster, agent);
  try {
    await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    await creates(call);
    await lists(call);
    await watchFanOut(cluster, call);
    const mem = process.memoryUsage();
    console.log(`memory: rss ${(mem.rss / 1e6).toFixed(0)} MB, heap used ${(mem.heapUsed / 1e6).toFixed(0)} MB`);
  } finally {
    agent.destroy();
    await cluster.stop();
  }
}
