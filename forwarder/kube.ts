/**
 * The forwarder's only door to the API server: plain HTTP(S) requests authenticated by a client-node
 * KubeConfig (token, client certificate, exec plugin or in-cluster service account), and a streaming GET for
 * watches that reads one line at a time and awaits the consumer before reading on — so a slow consumer slows
 * the TCP stream instead of buffering events in memory.
 */
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export interface WatchLine {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | string;
  object: any;
}

export class KubeHttpError extends Error {
  readonly statusCode: number;
  readonly reason?: string;
  constructor(method: string, path: string, statusCode: number, status?: { message?: string; reason?: string }) {
    super(`${method} ${path}: HTTP ${statusCode}${status?.reason ? ` ${status.reason}` : ''}${status?.message ? `: ${status.message}` : ''}`);
    this.name = 'KubeHttpError';
    this.statusCode = statusCode;
    this.reason = status?.reason;
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  contentType?: string;
}

export interface KubeHttp {
  request<T = any>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  /** Streaming watch GET: resolves when the server ends the stream; each parsed line is awaited. */
  watch(path: string, query: RequestOptions['query'], onLine: (l: WatchLine) => unknown, signal: AbortSignal): Promise<void>;
}

function buildUrl(server: string, path: string, query: RequestOptions['query']): URL {
  const url = new URL(server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  return url;
}

/** The whole body; `limit` (for error bodies) keeps only the first characters. */
async function readBody(res: http.IncomingMessage, limit = Infinity): Promise<string> {
  res.setEncoding('utf8');
  let s = '';
  for await (const chunk of res) {
    if (s.length < limit) s += chunk;
  }
  return s;
}

function statusOf(text: string): { message?: string; reason?: string } | undefined {
  try {
    const j = JSON.parse(text);
    return j?.kind === 'Status' ? { message: j.message, reason: j.reason } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * client-node refuses plain-http servers unless the kubeconfig says insecure-skip-tls-verify (there is no TLS
 * to verify on http: at all). For an http: server, use a copy of the config with that flag set.
 */
function httpCapable(kc: KubeConfig): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster || !cluster.server.startsWith('http:') || cluster.skipTLSVerify) return kc;
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.name === cluster.name ? { ...c, skipTLSVerify: true } : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return copy;
}

export function kubeHttp(config: KubeConfig): KubeHttp {
  const kc = httpCapable(config);
  // One keep-alive agent per client (client-node's agent does not keep connections alive: a TLS handshake per
  // request). TLS material is read once; credentials (headers) are applied per request.
  let agent: http.Agent | undefined;
  const keepAliveAgent = (url: URL, o: https.RequestOptions): http.Agent =>
    (agent ??=
      url.protocol === 'http:'
        ? new http.Agent({ keepAlive: true })
        : new https.Agent({ keepAlive: true, ca: o.ca, cert: o.cert, key: o.key, pfx: o.pfx, passphrase: o.passphrase, servername: o.servername, ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}) }));
  async function open(method: string, path: string, opts: RequestOptions, stream = false): Promise<http.IncomingMessage> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster; set current-context');
    const url = buildUrl(cluster.server, path, opts.query);
    const o: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(o);
    // Watches are long-lived and aborted mid-body: they keep client-node's own (non-pooling) agent.
    if (!stream) o.agent = keepAliveAgent(url, o);
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { Accept: 'application/json', ...(o.headers as Record<string, string>) };
    if (body !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...o, method, headers, signal: opts.signal }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    async request(method, path, opts = {}) {
      const res = await open(method, path, opts);
      const text = await readBody(res);
      const code = res.statusCode ?? 0;
      if (code < 200 || code >= 300) throw new KubeHttpError(method, path, code, statusOf(text.slice(0, 1 << 16)));
      return text ? JSON.parse(text) : undefined;
    },

    async watch(path, query, onLine, signal) {
      const res = await open('GET', path, { query: { ...query, watch: 'true' }, signal }, true);
      if (res.statusCode !== 200) throw new KubeHttpError('GET', path, res.statusCode ?? 0, statusOf(await readBody(res, 1 << 16)));
      res.setEncoding('utf8');
      // Errors (abort, reset) surface through the iteration below; never as an unhandled 'error' event.
      res.on('error', () => {});
      let buf = '';
      for await (const chunk of res as AsyncIterable<string>) {
        buf += chunk;
        let start = 0;
        let nl: number;
        while ((nl = buf.indexOf('\n', start)) >= 0) {
          const line = buf.slice(start, nl);
          start = nl + 1;
          if (line.trim() === '') continue;
          await onLine(JSON.parse(line) as WatchLine);
        }
        buf = buf.slice(start);
      }
      if (buf.trim() !== '') await onLine(JSON.parse(buf) as WatchLine);
    },
  };
}
