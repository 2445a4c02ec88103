/**
 * CloudWatch Logs filter patterns against the documented examples:
 *   SYNTAX = https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 *   JSON   = https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html
 */
import { describe, expect, it } from 'vitest';
import { compileLogsFilter, matchesLogsFilter, validateLogsFilter } from '../../../../../infra/local/eventbridge/logs-filter.ts';

/** SYNTAX "JSON Metric Filter Examples" log event. */
const jsonExample = JSON.stringify({
  eventType: 'UpdateTrail',
  sourceIPAddress: '111.111.111.111',
  arrayKey: ['value', 'another value'],
  objectList: [
    { name: 'a', id: 1 },
    { name: 'b', id: 2 },
  ],
  SomeObject: null,
  ThisFlag: true,
});

/** SYNTAX "JSON Compound Conditions" log event. */
const compoundExample = JSON.stringify({
  user: { id: 1, email: 'John.Stiles@example.com' },
  users: [
    { id: 2, email: 'John.Doe@example.com' },
    { id: 3, email: 'Jane.Doe@example.com' },
  ],
  actions: ['GET', 'PUT', 'DELETE'],
  coordinates: [
    [0, 1, 2],
    [4, 5, 6],
    [7, 8, 9],
  ],
});

describe('term patterns (SYNTAX "Matching Terms in Log Events")', () => {
  it.each([
    ['Example 1: single term', '"ERROR"', '[ERROR] A fatal exception has occurred', true],
    ['Example 1: term inside a word', '"ERROR"', 'Exiting with ERRORCODE: -1', true],
    ['Example 2: include and exclude', '"ERROR" - "Exiting"', 'Exiting with ERRORCODE: -1', false],
    ['Example 2: include and exclude, other line', '"ERROR" - "Exiting"', '[ERROR] A fatal exception has occurred', true],
    ['Example 3: multiple terms (ERROR Exception)', 'ERROR Exception', '[ERROR] Caught IllegalArgumentException', true],
    ['a quoted phrase is matched as a whole', '"Failed to process"', '[WARN] Failed to  process the request', false],
    ['a quoted phrase present verbatim', '"Failed to process"', '[WARN] Failed to process the request', true],
    ['Example 3: both terms unquoted', 'ERROR Exception', '[ERROR] Unhandled Exception', true],
    ['Example 3: one term missing', 'ERROR Exception', '[ERROR] Unhandled failure', false],
    ['all words of a phrase', 'Failed to process the request', '[WARN] Failed to process the request', true],
    ['terms are case-sensitive', 'ERROR', 'error: lowercase', false],
    ['OR: ?ERROR ?WARN matches WARN message', '?ERROR ?WARN', 'WARN message', true],
    ['OR: ?ERROR ?WARN does not match INFO', '?ERROR ?WARN', 'INFO message', false],
    ['ERROR WARN only matches both', 'ERROR WARN', 'ERROR message', false],
    ['ERROR -WARN matches ERROR message', 'ERROR -WARN', 'ERROR message', true],
    ['ERROR -WARN excludes ERROR WARN message', 'ERROR -WARN', 'ERROR WARN message', false],
    ['empty pattern matches everything', '', 'anything at all', true],
    ['blank pattern matches everything', '   ', '{"a":1}', true],
  ])('%s', (_name, pattern, message, expected) => {
    expect(matchesLogsFilter(pattern, message)).toBe(expected);
  });
});

describe('JSON patterns (SYNTAX "JSON Metric Filter Examples"; JSON)', () => {
  it.each([
    ['eventType is UpdateTrail', '{ $.eventType = "UpdateTrail" }', true],
    ['eventType unquoted', '{ $.eventType = UpdateTrail }', true],
    ['eventType other', '{ $.eventType = "DeleteTrail" }', false],
    ['IP outside 123.123.*', '{ $.sourceIPAddress != 123.123.* }', true],
    ['IP inside 111.111.*', '{ $.sourceIPAddress = 111.111.* }', true],
    ['leading wildcard', '{ $.eventType = *Trail }', true],
    ['wildcard on both sides', '{ $.eventType = *dateTr* }', true],
    ['any value', '{ $.eventType = * }', true],
    ['first entry in arrayKey', '{ $.arrayKey[0] = "value" }', true],
    ['second entry in arrayKey', '{ $.arrayKey[1] = "value" }', false],
    ['objectList[1].id = 2', '{ $.objectList[1].id = 2 }', true],
    ['objectList[0].id = 2', '{ $.objectList[0].id = 2 }', false],
    ['index past the end', '{ $.objectList[5].id = 2 }', false],
    ['index on a non-array', '{ $.eventType[0] = "U" }', false],
    ['SomeObject IS NULL', '{ $.SomeObject IS NULL }', true],
    ['eventType IS NULL', '{ $.eventType IS NULL }', false],
    ['missing field IS NULL', '{ $.Missing IS NULL }', false],
    ['SomeOtherObject NOT EXISTS', '{ $.SomeOtherObject NOT EXISTS }', true],
    ['SomeObject (null) exists', '{ $.SomeObject NOT EXISTS }', false],
    ['ThisFlag IS TRUE', '{ $.ThisFlag IS TRUE }', true],
    ['ThisFlag IS FALSE', '{ $.ThisFlag IS FALSE }', false],
    ['selector on an array: = is false', '{ $.arrayKey = "value" }', false],
    ['selector on an array: != is false too', '{ $.arrayKey != "value" }', false],
    ['missing field: != is false', '{ $.nothing != "x" }', false],
  ])('%s', (_name, pattern, expected) => {
    expect(matchesLogsFilter(pattern, jsonExample)).toBe(expected);
  });

  it.each([
    ['OR in JSON: $.foo = bar', '{$.foo = bar}', '{"foo": "bar"}', true],
    ['OR in JSON: $.foo = baz on bar', '{$.foo = baz }', '{"foo": "bar"}', false],
    ['OR in JSON: bar || baz on baz', '{$.foo = bar || $.foo = baz }', '{"foo": "baz"}', true],
    ['users is an array: = 1 does not apply', '{$.users = 1}', '{"users": [1, 2, 3]}', false],
    ['users is an array: != 1 does not apply', '{$.users != 1}', '{"users": [1, 2, 3]}', false],
    ['a message that is not JSON never matches', '{ $.a = 1 }', 'plain text a = 1', false],
    ['a JSON array message never matches', '{ $.a = 1 }', '[1]', false],
  ])('%s', (_name, pattern, message, expected) => {
    expect(matchesLogsFilter(pattern, message)).toBe(expected);
  });
});

describe('JSON compound conditions (SYNTAX "JSON Compound Conditions")', () => {
  it.each([
    ['(user.id = 1) && (users[0].email = John.Doe)', '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', true],
    ['(... && nonmatch) || actions[2] = GET', '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', false],
    ['&& binds tighter than ||', '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }', true],
    ['parentheses change the grouping', '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }', false],
    ['nested array index', '{ $.coordinates[1][2] = 6 }', true],
  ])('%s', (_name, pattern, expected) => {
    expect(matchesLogsFilter(pattern, compoundExample)).toBe(expected);
  });
});

describe('numeric comparisons (SYNTAX "Numeric Comparisons")', () => {
  const event = JSON.stringify({ latency: 600, numbers: [5], processes: [{}, {}, {}, {}, { averageRuntime: 55.5 }], errorCode: 400 });
  it.each([
    ['{ $.latency >= 500 }', true],
    ['{ $.numbers[0] < 10e3 }', true],
    ['{ $.numbers[0] < 10e-3 }', false],
    ['{ $.processes[4].averageRuntime <= 55.5 }', true],
    ['{ $.errorCode = 400 }', true],
    ['{ $.errorCode != 500 }', true],
    ['{ $.latency > +1000 }', false],
    ['{ $.latency < 600 }', false],
    ['{ $.latency > 599.9 }', true],
  ])('%s', (pattern, expected) => {
    expect(matchesLogsFilter(pattern, event)).toBe(expected);
  });

  it('numeric operators need a number field', () => {
    expect(matchesLogsFilter('{ $.v > 1 }', '{"v": "5"}')).toBe(false);
  });
});

describe('EKS audit records (the shape ripple subscribes to)', () => {
  const audit = JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    verb: 'delete',
    user: { username: 'alice', groups: ['system:authenticated'] },
    objectRef: { resource: 'secrets', namespace: 'platform', name: 'blogsecret', apiVersion: 'v1' },
    responseStatus: { code: 403 },
  });
  it.each([
    ['{ $.objectRef.resource = "secrets" && ($.verb = "delete" || $.verb = "update" || $.verb = "patch") }', true],
    ['{ $.objectRef.name = "blogsecret" && $.user.username != "system:serviceaccount:*" }', true],
    ['{ $.responseStatus.code >= 400 && $.objectRef.namespace = "platform" }', true],
    ['{ $.verb = "get" }', false],
  ])('%s', (pattern, expected) => {
    expect(matchesLogsFilter(pattern, audit)).toBe(expected);
  });
});

describe('invalid patterns are rejected with a reason', () => {
  it.each([
    ['{ $.a = }', /expected a value/],
    ['{ $.a ~ 1 }', /expected =, !=, <, <=, >, >=, IS or NOT EXISTS after \$\.a/],
    ['{ a = 1 }', /expected a selector/],
    ['{ ($.a = 1 }', /expected "\)"/],
    ['{ $.a IS MAYBE }', /unknown condition "IS MAYBE"/],
    ['{ $.a > "x" }', /needs a number/],
    ['{ $.a = "x" ', /enclosed in \{ \}/],
    ['{ $.a[x] = 1 }', /invalid selector/],
    ['[ip, user, status_code = 4*]', /space-delimited patterns/],
    ['%ERROR%', /regular-expression terms/],
    ['"unterminated', /unterminated quoted term/],
  ])('%s', (pattern, reason) => {
    expect(validateLogsFilter(pattern)).toMatch(reason);
    expect(() => compileLogsFilter(pattern)).toThrow(reason);
  });

  it('valid patterns validate to null', () => {
    expect(validateLogsFilter('{ $.a = 1 }')).toBeNull();
    expect(validateLogsFilter('')).toBeNull();
  });
});
