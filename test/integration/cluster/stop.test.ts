/**
 * stop() ends every connection, whatever state it is in: a client still in its TLS handshake (or idle right after
 * it, on keep-alive) must not hold the server open. Found as a teardown that hung for good on a loaded machine.
 */
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../../../infra/local/cluster/index.ts';

const within = <T>(ms: number, p: Promise<T>): Promise<T | 'timed out'> => Promise.race([p, new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), ms))]);

describe('embedded cluster stop()', () => {
  it('returns with a connection that never finished its TLS handshake', async () => {
    // Prepare: a raw TCP connection that sends nothing (the server waits for a ClientHello)
    const cluster = await startCluster();
    const { port } = new URL(cluster.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // Act + Assess
    expect(await within(3000, cluster.stop())).toBeUndefined();
    socket.destroy();
  });

  it('returns with a connection that completed its handshake and sent no request', async () => {
    const cluster = await startCluster();
    const { port } = new URL(cluster.url);
    const socket = tlsConnect({ port: Number(port), host: '127.0.0.1', rejectUnauthorized: false });
    await new Promise<void>((r) => socket.once('secureConnect', () => r()));
    expect(await within(3000, cluster.stop())).toBeUndefined();
    socket.destroy();
  });
});
