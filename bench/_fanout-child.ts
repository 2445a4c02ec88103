/**
 * One run of `npm run bench -- fanout` in a process of its own: started by fanout.ts with the run's options as
 * JSON in argv[2]; prints its report lines, sends its Summary over the IPC channel, exits.
 */
import { runOnce, type RunOptions } from './fanout.ts';

const summary = await runOnce(JSON.parse(process.argv[2]!) as RunOptions);
await new Promise<void>((resolve) => process.send!(summary, () => resolve()));
process.disconnect();
