/**
 * /healthz (the process and its loops are alive), /readyz (fingerprint key loaded and every kind listed and
 * watched), /metrics (Prometheus text). Nothing else is served.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Probes {
  healthy(): boolean;
  ready(): boolean;
  metrics(): string;
}

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

export async function startProbeServer(port: number, probes: Probes, host = '0.0.0.0'): Promise<ProbeServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (path === '/healthz') return probes.healthy() ? send(200, 'ok\n') : send(503, 'unhealthy\n');
    if (path === '/readyz') return probes.ready() ? send(200, 'ok\n') : send(503, 'not ready\n');
    if (path === '/metrics') return send(200, probes.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
    send(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
