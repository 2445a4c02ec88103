import { describe, expect, it } from 'vitest';
import { ANN_METADATA_FINGERPRINT } from '../../../core/constants.ts';
import { metadataFingerprint, METADATA_FINGERPRINT_PREFIX } from '../../../core/fingerprint.ts';

const labels = { team: 'blog', 'app.kubernetes.io/managed-by': 'ripple' };
const annotations = { 'ripple.dev/source': 'Secret/platform/blogsecret', 'ripple.dev/policy': 'blogsecret', note: 'x' };
const base = metadataFingerprint(labels, annotations);
const reversed = <T extends Record<string, string>>(m: T): T => Object.fromEntries(Object.entries(m).reverse()) as T;

describe('metadataFingerprint', () => {
  it('is sha256: and 32 hex digits', () => {
    expect(base).toMatch(new RegExp(`^${METADATA_FINGERPRINT_PREFIX}[0-9a-f]{32}$`));
  });

  it.each<[string, Record<string, string> | null | undefined, Record<string, string> | null | undefined]>([
    ['labels and annotations in another order', reversed(labels), reversed(annotations)],
    ['its own annotation present (left out)', labels, { ...annotations, [ANN_METADATA_FINGERPRINT]: base }],
    ['its own annotation holding anything (left out)', labels, { ...annotations, [ANN_METADATA_FINGERPRINT]: 'sha256:nonsense' }],
    ["kubectl's last-applied-configuration present (sensitive: left out)", labels, { ...annotations, 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMg=="}}' }],
  ])('equal: %s', (_n, l, a) => {
    expect(metadataFingerprint(l, a)).toBe(base);
  });

  it.each<[string, Record<string, string> | null | undefined, Record<string, string> | null | undefined]>([
    ['a label removed', { team: 'blog' }, annotations],
    ['a label added', { ...labels, extra: 'y' }, annotations],
    ['a label value changed', { ...labels, team: 'other' }, annotations],
    ['an annotation removed', labels, { 'ripple.dev/source': 'Secret/platform/blogsecret', note: 'x' }],
    ['an annotation value changed', labels, { ...annotations, note: 'y' }],
    ['a label moved to the annotations', { 'app.kubernetes.io/managed-by': 'ripple' }, { ...annotations, team: 'blog' }],
    ['nothing at all', undefined, null],
  ])('differs: %s', (_n, l, a) => {
    expect(metadataFingerprint(l, a)).not.toBe(base);
  });

  it('treats absent and empty maps alike', () => {
    expect(metadataFingerprint(undefined, null)).toBe(metadataFingerprint({}, {}));
  });

});
