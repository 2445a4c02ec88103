import { describe, expect, it } from 'vitest';
import { lookupResource } from '../../../../../infra/local/cluster/resources.ts';
import { goType, listAsMetadata, negotiateOutput, objectAsMetadata, parseAccept } from '../../../../../infra/local/cluster/metadata.ts';
import { ApiError } from '../../../../../infra/local/cluster/status.ts';

const POM = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const POML = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

describe('negotiateOutput (NegotiateOutputMediaType: the first acceptable entry wins)', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['application/json', null],
    [POM, { kind: 'PartialObjectMetadata', version: 'v1' }],
    [`${POML},application/json`, { kind: 'PartialObjectMetadataList', version: 'v1' }],
    ['application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1', { kind: 'PartialObjectMetadata', version: 'v1beta1' }],
    // client-go's metadata client: the protobuf entry is not served here, the JSON one is
    [`application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,${POM},application/json`, { kind: 'PartialObjectMetadata', version: 'v1' }],
    // refused transformations are skipped
    ['application/json;as=PartialObjectMetadata;g=other.io;v=v1,application/json', null],
    ['application/json;as=PartialObjectMetadata;v=v1,application/json', null],
    ['application/json;g=meta.k8s.io;v=v1,application/json', null],
    ['application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1;sv=v2,application/json', null],
    [`application/json,${POM}`, null],
    [`${TABLE},${POM}`, { kind: 'Table', version: 'v1' }],
    [`${POM},${TABLE}`, { kind: 'PartialObjectMetadata', version: 'v1' }],
    // Tables of v1 only here; v1beta1 ones are skipped
    [`application/json;as=Table;v=v1beta1;g=meta.k8s.io,${POM}`, { kind: 'PartialObjectMetadata', version: 'v1' }],
    // q orders the entries; q=0 refuses one
    [`application/json;q=0.5,${POM}`, { kind: 'PartialObjectMetadata', version: 'v1' }],
    [`${POM};q=0,application/json`, null],
    ['*/*;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', { kind: 'PartialObjectMetadata', version: 'v1' }],
    // no transformation asked, nothing served: the plain answer, as before
    ['application/vnd.kubernetes.protobuf', null],
    ['text/html', null],
  ])('Accept %j -> %j', (accept, want) => {
    expect(negotiateOutput(accept, { table: true })).toEqual(want);
  });

  it.each([
    'application/json;as=PartialObjectMetadata;g=other.io;v=v1',
    'application/json;as=Table;v=v1;g=meta.k8s.io',
    'application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io',
  ])('%s alone, where there is no table: 406', (accept) => {
    let err: unknown;
    try {
      negotiateOutput(accept, { table: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).toStatus()).toMatchObject({ code: 406, reason: 'NotAcceptable', message: 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf' });
  });

  it('parseAccept orders by q, then specific types before wildcards, keeping the order otherwise', () => {
    expect(parseAccept('*/*, application/*, application/json;q=0.9, text/plain, application/yaml').map((c) => `${c.type}/${c.subtype}`))
      .toEqual(['text/plain', 'application/yaml', 'application/*', '*/*', 'application/json']);
  });
});

describe('metadata-only answers', () => {
  const secrets = lookupResource('', 'v1', 'secrets')!;
  const md = { name: 's', namespace: 'n', resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{ manager: 'm' }] };
  const v1 = { kind: 'PartialObjectMetadata', version: 'v1' } as const;
  const list = { kind: 'PartialObjectMetadataList', version: 'v1' } as const;

  it('an object: kind, apiVersion and its metadata as it is; a Status passes through', () => {
    expect(objectAsMetadata({ kind: 'Secret', apiVersion: 'v1', metadata: md, data: { a: 'eA==' } }, v1, secrets))
      .toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: md });
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
    expect(objectAsMetadata(status, v1, secrets)).toBe(status);
    expect(objectAsMetadata(status, list, secrets)).toBe(status);
  });

  it('a list: ListMeta and one PartialObjectMetadata per item', () => {
    expect(listAsMetadata([{ metadata: md, data: {} }], { resourceVersion: '9', continue: 'c' }, list, secrets)).toEqual({
      kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '9', continue: 'c' },
      items: [{ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: md }],
    });
  });

  it('an object asked as a list, a list asked as an object: 406 naming the Go type', () => {
    expect(() => objectAsMetadata({ metadata: md }, list, secrets)).toThrow('you requested PartialObjectMetadataList, but the requested object is not a list (*core.Secret)');
    expect(() => listAsMetadata([], {}, v1, secrets)).toThrow('you requested PartialObjectMetadata, but the requested object is a list (*core.SecretList)');
  });

  it.each([
    ['', 'v1', 'secrets', '*core.Secret'],
    ['apps', 'v1', 'deployments', '*apps.Deployment'],
    ['rbac.authorization.k8s.io', 'v1', 'roles', '*rbac.Role'],
    ['events.k8s.io', 'v1', 'events', '*core.Event'],
    ['argoproj.io', 'v1alpha1', 'rollouts', '*unstructured.Unstructured'],
  ])('goType %s/%s %s -> %s', (group, version, plural, want) => {
    expect(goType(lookupResource(group, version, plural)!, false)).toBe(want);
  });
});
