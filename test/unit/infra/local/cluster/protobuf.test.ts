import { describe, expect, it } from 'vitest';
import { decodeProtobuf, ProtobufError } from '../../../../../infra/local/cluster/protobuf.ts';

// a minimal protobuf encoder for the test: field(n, value) with varints and length-delimited fields
function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}
const tag = (n: number, wire: number) => varint(BigInt((n << 3) | wire));
const str = (n: number, s: string | Uint8Array) => {
  const b = typeof s === 'string' ? [...Buffer.from(s)] : [...s];
  return [...tag(n, 2), ...varint(BigInt(b.length)), ...b];
};
const msg = (n: number, body: number[]) => str(n, Uint8Array.from(body));
const int = (n: number, v: number) => [...tag(n, 0), ...varint(BigInt(v))];
const entry = (n: number, k: string, v: string | number[]) => msg(n, [...str(1, k), ...(typeof v === 'string' ? str(2, v) : msg(2, v))]);

function envelope(apiVersion: string, kind: string, raw: number[]): Uint8Array {
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...msg(1, [...str(1, apiVersion), ...str(2, kind)]), ...str(2, Uint8Array.from(raw))]);
}

describe('decodeProtobuf', () => {
  it('decodes a Secret as kubectl create secret sends it (empty strings and zero values omitted, bytes as base64)', () => {
    const meta = [...str(1, 'db'), ...str(2, ''), ...str(3, 'team-a'), ...int(7, 0), ...msg(8, []), ...entry(11, 'app', 'x')];
    const raw = [...msg(1, meta), ...msg(2, [...str(1, 'pw'), ...str(2, 's3cret')]), ...str(3, 'Opaque')];
    expect(decodeProtobuf(envelope('v1', 'Secret', raw))).toEqual({
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: 'db', namespace: 'team-a', labels: { app: 'x' } },
      data: { pw: Buffer.from('s3cret').toString('base64') },
      type: 'Opaque',
    });
  });

  it('keeps pointer fields set to zero, decodes negative ints, quantities and int-or-string', () => {
    const container = [...str(1, 'c'), ...str(2, 'img'), ...msg(8, [...entry(1, 'cpu', [...str(1, '100m')])])];
    const spec = [
      ...int(1, 0),
      ...msg(3, [...msg(2, [...msg(2, container), ...int(4, -1)])]),
      ...msg(4, [...str(1, 'RollingUpdate'), ...msg(2, [...msg(1, [...int(1, 1), ...str(3, '25%')]), ...msg(2, [...int(1, 0), ...int(2, 2)])])]),
    ];
    const d = decodeProtobuf(envelope('apps/v1', 'Deployment', [...msg(1, str(1, 'd')), ...msg(2, spec)]));
    expect(d.spec.replicas).toBe(0);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(-1);
    expect(d.spec.template.spec.containers[0].resources).toEqual({ limits: { cpu: '100m' } });
    expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 2 } });
  });

  it.each([
    [Uint8Array.from([1, 2, 3]), 'does not start with the k8s magic number'],
    [envelope('v1', 'Endpoints', []), 'protobuf encoding of Endpoints (v1) is not supported by the embedded cluster; send JSON'],
    [Uint8Array.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x05, 0x0a]), 'truncated'],
  ])('refuses %#: %s', (buf, message) => {
    expect(() => decodeProtobuf(buf)).toThrow(ProtobufError);
    expect(() => decodeProtobuf(buf)).toThrow(message);
  });
});
