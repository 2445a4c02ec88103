/**
 * The embedded Kubernetes API server: `startCluster()` serves the Kubernetes API over real HTTP, in memory,
 * faithful enough that kubectl and @kubernetes/client-node work against it unchanged. See
 * docs/embedded-cluster.md for what it supports and what it does not.
 */
import { createServer, type Server } from 'node:https';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { Authenticator, type TokenEntry } from './auth.ts';
import { AuditLog, type AuditEvent } from './audit.ts';
import { Controllers } from './controllers.ts';
import { NamespaceLifecycle } from './namespaces.ts';
import { GarbageCollector } from './gc.ts';
import { BOOTSTRAP_RBAC } from './rbac.ts';
import { Registry } from './registry.ts';
import { lookupKind } from './resources.ts';
import { ApiServer } from './server.ts';
import { loadState, StatePersister } from './state.ts';
import { Store } from './store.ts';
import { WatchHub } from './watch.ts';
import { selfSignedCert } from './tls.ts';
import { requestRateLimit } from './ratelimit.ts';

export type { TokenEntry } from './auth.ts';
export type { AuditEvent } from './audit.ts';

export interface StartClusterOptions {
  host?: string;
  port?: number;
  statePath?: string;
  watchHistory?: number;
  tokens?: TokenEntry[];
  authorization?: 'RBAC' | 'AlwaysAllow';
  audit?: { file?: string; onEvent?: (e: AuditEvent) => void };
  controllers?: boolean;
  /** interval of watch BOOKMARK events for watches that allow them; default 5000 ms, 0 = never */
  bookmarkIntervalMs?: number;
  /**
   * Requests per second the server accepts (system:masters, watches and health probes exempt); over it, 429
   * TooManyRequests with Retry-After: 1, as API Priority and Fairness answers. Absent: unlimited.
   */
  maxRequestsPerSecond?: number;
}

export interface EmbeddedCluster {
  url: string;
  adminToken: string;
  /** PEM of the self-signed serving certificate (also the CA in the kubeconfigs) */
  caCert: string;
  kubeconfig(opts?: { user?: string; groups?: string[]; namespace?: string }): string;
  kubeConfig(opts?: { user?: string; groups?: string[]; namespace?: string }): KubeConfig;
  addToken(e: TokenEntry): void;
  compact(): void;
  onAudit(cb: (e: AuditEvent) => void): () => void;
  stop(): Promise<void>;
}

export const ADMIN_USER = 'admin';
export const ADMIN_GROUPS = ['system:masters', 'system:authenticated'];

function token(): string {
  return randomBytes(24).toString('base64url');
}

export function kubeconfigYaml(server: string, caPem: string, userName: string, tok: string, namespace = 'default'): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'ripple-local', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    contexts: [{ name: `${userName}@ripple-local`, context: { cluster: 'ripple-local', user: userName, namespace } }],
    'current-context': `${userName}@ripple-local`,
    users: [{ name: userName, user: { token: tok } }],
    preferences: {},
  });
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<EmbeddedCluster> {
  const host = opts.host ?? '127.0.0.1';
  const { store, registry, lifecycle, gc, controllers, persister } = startStorage(opts);

  const adminToken = token();
  const authenticator = new Authenticator([{ token: adminToken, user: ADMIN_USER, groups: ADMIN_GROUPS }, ...(opts.tokens ?? [])]);
  const audit = new AuditLog(opts.audit?.file ? { file: opts.audit.file } : {});
  if (opts.audit?.onEvent) audit.subscribe(opts.audit.onEvent);
  const watches = new WatchHub(store, { bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 5000 });

  let address = '';
  const api = new ApiServer({
    store,
    registry,
    watches,
    authenticator,
    audit,
    authorization: opts.authorization ?? 'RBAC',
    serverAddress: () => address,
    ...(opts.maxRequestsPerSecond !== undefined ? { rateLimit: requestRateLimit(opts.maxRequestsPerSecond) } : {}),
  });
  const tls = selfSignedCert([host]);
  const server = httpsServer(tls, api.handle);
  const connections = trackConnections(server);
  await listen(server, host, opts.port, () => {
    watches.stop();
    controllers?.stop();
    lifecycle.stop();
    gc.stop();
    persister?.stop();
    void audit.close();
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  address = `${urlHost}:${port}`;
  const url = `https://${address}`;

  const identity = identities(authenticator, adminToken);
  let stopped = false;

  return {
    url,
    adminToken,
    caCert: tls.cert,
    kubeconfig(o) {
      const id = identity(o);
      return kubeconfigYaml(url, tls.cert, id.user, id.tok, o?.namespace);
    },
    kubeConfig(o) {
      const id = identity(o);
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfigYaml(url, tls.cert, id.user, id.tok, o?.namespace));
      return kc;
    },
    addToken(e) {
      authenticator.add(e);
    },
    compact() {
      store.compact();
    },
    onAudit(cb) {
      return audit.subscribe(cb);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      watches.stop();
      controllers?.stop();
      lifecycle.stop();
      gc.stop();
      await connections.close();
      persister?.stop();
      await audit.close();
    },
  };
}

/** The user a kubeconfig is for: the admin by default, else a new token for the user and groups asked for. */
function identities(authenticator: Authenticator, adminToken: string) {
  return (o?: { user?: string; groups?: string[] }): { user: string; tok: string } => {
    if (!o?.user) return { user: ADMIN_USER, tok: adminToken };
    const tok = token();
    authenticator.add({ token: tok, user: o.user, groups: o.groups ?? [] });
    return { user: o.user, tok };
  };
}

/** The HTTPS server: keep-alive connections (65 s idle), no request timeout (a watch is one long request). */
function httpsServer(tls: { cert: string; key: string }, handle: Parameters<typeof createServer>[1]): Server {
  const server: Server = createServer({ keepAlive: true, noDelay: true, cert: tls.cert, key: tls.key }, handle);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  return server;
}

/** The store and what keeps it (registry, namespace lifecycle, garbage collector, controllers, persister), with the default namespaces and bootstrap RBAC in place. */
function startStorage(opts: StartClusterOptions) {
  const store = new Store({ historyLimit: opts.watchHistory ?? 10_000 });
  if (opts.statePath) loadState(store, opts.statePath);
  const registry = new Registry(store);
  const lifecycle = new NamespaceLifecycle(registry);
  const gc = new GarbageCollector(registry);
  NamespaceLifecycle.ensureDefaults(registry);
  for (const obj of BOOTSTRAP_RBAC) {
    const rt = lookupKind(obj.apiVersion, obj.kind);
    if (rt && !registry.get(rt, '', obj.metadata.name)) registry.create(rt, '', structuredClone(obj), { manager: 'kube-apiserver' });
  }
  const controllers = opts.controllers === false ? null : new Controllers(registry);
  const persister = opts.statePath ? new StatePersister(store, opts.statePath) : null;
  return { store, registry, lifecycle, gc, controllers, persister };
}

/**
 * Every TCP connection, tracked from accept: a connection still in its TLS handshake is not yet one of the HTTP
 * server's, so closeAllConnections() misses it and, once it completes, it would hold server.close() open.
 * close() stops the server and destroys them all.
 */
function trackConnections(server: Server): { close(): Promise<void> } {
  const sockets = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    async close() {
      closing = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

/** Listens on host:port; on failure calls `stopAll` and rejects with a message that says what to do. */
async function listen(server: Server, host: string, port: number | undefined, stopAll: () => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      stopAll();
      if (err.code === 'EADDRINUSE') reject(new Error(`embedded cluster: ${host}:${port} is already in use; choose another port (0 = any free port)`, { cause: err }));
      else if (err.code === 'EADDRNOTAVAIL') reject(new Error(`embedded cluster: cannot listen on ${host}: no such local address`, { cause: err }));
      else reject(err);
    });
    server.listen(port ?? 0, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
}
