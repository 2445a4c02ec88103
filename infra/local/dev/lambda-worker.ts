/**
 * One local Lambda function: runs in a worker thread with the function's own environment (as each Lambda has its
 * own), imports the handler module on the first invocation (as the Lambda runtime does at cold start) and calls
 * the export with the event and a Lambda-like context. Messages: { id, event, requestId } in;
 * { id, ok: true, result } | { id, ok: false, error } out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

interface Data {
  file: string;
  exportName: string;
  functionName: string;
  timeoutMs: number;
  memorySize: number;
  region: string;
  accountId: string;
  logGroupName: string;
}

const data = workerData as Data;
let handlerPromise: Promise<(event: unknown, context: object) => unknown> | null = null;

function loadHandler(): Promise<(event: unknown, context: object) => unknown> {
  handlerPromise ??= import(pathToFileURL(data.file).href).then((mod: Record<string, unknown>) => {
    const fn = mod[data.exportName];
    if (typeof fn !== 'function') {
      const err = new Error(`${data.file} does not export a function named ${data.exportName} (exports: ${Object.keys(mod).join(', ') || 'none'})`);
      err.name = 'Runtime.HandlerNotFound';
      throw err;
    }
    return fn as (event: unknown, context: object) => unknown;
  });
  return handlerPromise;
}

function serializeError(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: typeof err === 'string' ? err : JSON.stringify(err) };
}

parentPort?.on('message', async (msg: { id: number; event: unknown; requestId: string }) => {
  const deadline = Date.now() + data.timeoutMs;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${data.region}:${data.accountId}:function:${data.functionName}`,
    memoryLimitInMB: String(data.memorySize),
    awsRequestId: msg.requestId,
    logGroupName: data.logGroupName,
    logStreamName: `local/[$LATEST]${msg.requestId.replace(/-/g, '').slice(0, 32)}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const handler = await loadHandler().catch((err: unknown) => {
      if (err instanceof Error && err.name === 'Error') err.name = 'Runtime.ImportModuleError';
      throw err;
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`Task timed out after ${(data.timeoutMs / 1000).toFixed(2)} seconds`);
        err.name = 'Sandbox.Timedout';
        reject(err);
      }, Math.max(0, deadline - Date.now()));
    });
    const result = await Promise.race([Promise.resolve(handler(msg.event, context)), timeout]);
    parentPort?.postMessage({ id: msg.id, ok: true, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (err) {
    parentPort?.postMessage({ id: msg.id, ok: false, error: serializeError(err) });
  } finally {
    if (timer) clearTimeout(timer);
  }
});
