/**
 * Network-level tools for the forwarder's integration tests: a TCP proxy in front of the API server (to kill,
 * refuse or stall the forwarder's connections, as a flaky network or a restarting API server would) and an
 * HTTP recorder in front of the local EventBridge (every PutEvents request body, exactly as sent on the wire).
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface TcpProxy {
  url: string;
  /** Destroy every open connection (the client sees a reset). */
  killAll(): void;
  /** Refuse new connections (and kill open ones) until allow(). */
  refuse(): void;
  allow(): void;
  /** Stop forwarding bytes from the server on open connections, leaving them open (a silent stall). */
  stallAll(): void;
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const t = new URL(target);
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(Number(t.port), t.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const killAll = () => {
    for (const p of pairs) {
      p.client.resetAndDestroy();
      p.upstream.destroy();
    }
    pairs.clear();
  };
  return {
    url: `${t.protocol}//127.0.0.1:${port}`,
    killAll,
    refuse() {
      refusing = true;
      killAll();
    },
    allow() {
      refusing = false;
    },
    stallAll() {
      for (const p of pairs) {
        p.upstream.unpipe(p.client);
        p.upstream.pause();
      }
    },
    connections: () => pairs.size,
    close: () =>
      new Promise<void>((r) => {
        killAll();
        server.close(() => r());
      }),
  };
}

export interface BodyRecorder {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

/** HTTP pass-through that keeps every request body sent to `target`. */
export async function startBodyRecorder(target: string): Promise<BodyRecorder> {
  const t = new URL(target);
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body.toString('utf8'));
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** The same kubeconfig pointed at another server URL (e.g. a proxy). */
export function kubeConfigVia(yaml: string, fromUrl: string, toUrl: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml.split(fromUrl).join(toUrl));
  return kc;
}

/** `kubectl` with a kubeconfig YAML; resolves to stdout. Asynchronous: the API server may live in this process. */
export async function kubectl(kubeconfigYaml: string, args: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ripple-kc-'));
  const file = join(dir, 'config');
  writeFileSync(file, kubeconfigYaml, { mode: 0o600 });
  try {
    const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', file, ...args], { encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')}: ${e.stderr || e.message}`, { cause: err });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Poll until `fn` returns a truthy value (or throw after `timeoutMs` with `what`). */
export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The forwarder ServiceAccount's identity as the API server sees it. */
export const FORWARDER_SA = {
  user: 'system:serviceaccount:ripple-system:ripple-forwarder',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ripple-system', 'system:authenticated'],
};
