/** This process as the owner of the runs it trains, and whether another owner is still alive. */
import os from 'node:os';

export const THIS_PROCESS = { pid: process.pid, host: os.hostname() };

/** Whether a process with this pid exists on this host (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
