import { describe, expect, it } from 'vitest';
import { boolParam, deleteOptions, listOptions, writeOptions } from '../../../../../infra/local/cluster/options.ts';
import { ApiError } from '../../../../../infra/local/cluster/status.ts';

const q = (s: string) => new URLSearchParams(s);

function refusal(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('not refused');
}

describe('boolParam (metav1 Convert_Slice_string_To_bool)', () => {
  it.each([['true', true], ['1', true], ['True', true], ['', true], ['yes', true], ['false', false], ['FALSE', false], ['0', false]])('%j -> %s', (v, want) => {
    expect(boolParam(v)).toBe(want);
  });
});

describe('deleteOptions: body and query', () => {
  it.each([
    ['dryRun in the body', '', { dryRun: ['All'] }, { dryRun: true }],
    ['dryRun in the query', 'dryRun=All', undefined, { dryRun: true }],
    ['dryRun in the query, a body without it', 'dryRun=All', { propagationPolicy: 'Background' }, { dryRun: true, propagationPolicy: 'Background' }],
    ['the body wins a field both carry', 'propagationPolicy=Orphan', { propagationPolicy: 'Foreground' }, { dryRun: false, propagationPolicy: 'Foreground' }],
    ['a field the body leaves out comes from the query', 'gracePeriodSeconds=5', { propagationPolicy: 'Orphan' }, { dryRun: false, propagationPolicy: 'Orphan', gracePeriodSeconds: 5 }],
    ['orphanDependents=true is Orphan', 'orphanDependents=true', undefined, { dryRun: false, propagationPolicy: 'Orphan', orphanDependents: true }],
    ['orphanDependents=false is Background', '', { orphanDependents: false }, { dryRun: false, propagationPolicy: 'Background', orphanDependents: false }],
    ['preconditions from the body', '', { preconditions: { uid: 'u', resourceVersion: '7' } }, { dryRun: false, preconditions: { uid: 'u', resourceVersion: '7' } }],
    ['nothing', '', undefined, { dryRun: false }],
  ])('%s', (_name, query, body, want) => {
    expect(deleteOptions(q(query), body)).toEqual(want);
  });

  it.each([
    ['both orphanDependents and propagationPolicy', '', { orphanDependents: false, propagationPolicy: 'Orphan' }, 422, /propagationPolicy: Invalid value: "Orphan": orphanDependents and deletionPropagation cannot be both set/],
    ['orphanDependents in the query, propagationPolicy in the body', 'orphanDependents=true', { propagationPolicy: 'Orphan' }, 422, /cannot be both set/],
    ['dryRun not All', 'dryRun=All&dryRun=x', undefined, 422, /dryRun: Unsupported value: \[\]string\{"x", "All"\}|dryRun: Unsupported value: \[\]string\{"All", "x"\}/],
    ['a body that is a list', '', [], 400, /must be a JSON object/],
    ['preconditions.uid not a string', '', { preconditions: { uid: 3 } }, 400, /Preconditions.preconditions.uid of type string/],
    ['ignoreStoreReadError... with dryRun', '', { ignoreStoreReadErrorWithClusterBreakingPotential: true, dryRun: ['All'] }, 422, /dryRun: Invalid value: .*cannot be set together with ignoreStoreReadErrorWithClusterBreakingPotential/],
  ])('%s is refused', (_name, query, body, code, message) => {
    const r = refusal(() => deleteOptions(q(query), body));
    expect(r.code).toBe(code);
    expect(r.message).toMatch(message);
  });
});

describe('writeOptions and listOptions', () => {
  it('apply requires a fieldManager; several errors are listed together', () => {
    expect(refusal(() => writeOptions(q('dryRun=x&fieldValidation=y'), 'create')).message)
      .toBe('CreateOptions.meta.k8s.io "" is invalid: [dryRun: Unsupported value: []string{"x"}: supported values: "All", fieldValidation: Unsupported value: "y": supported values: "", "Ignore", "Strict", "Warn"]');
    expect(writeOptions(q('fieldManager=m&force=1'), 'patch', true)).toEqual({ dryRun: false, fieldManager: 'm', fieldValidation: 'Warn', force: true });
  });

  it('sendInitialEvents is tri-state; a watch-list request needs NotOlderThan', () => {
    expect(listOptions(q('sendInitialEvents=false&resourceVersionMatch=NotOlderThan'), 'watch').sendInitialEvents).toBe(false);
    expect(listOptions(q(''), 'watch').sendInitialEvents).toBeUndefined();
    expect(refusal(() => listOptions(q('sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=1'), 'watch')).code).toBe(422);
    expect(refusal(() => listOptions(q('limit=ten'), 'list'))).toEqual({ code: 400, message: 'limit: invalid value "ten": strconv.ParseInt: parsing "ten": invalid syntax' });
  });
});
