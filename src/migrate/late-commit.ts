// A run killed after sending an APPEND whole: the new server has read the bytes and may still
// commit them after the client died. Whoever looks for that message later (a crashed batch, a
// notice being appended) waits until the server has had its time, or it would append it twice.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Waits until `lateCommitMs` (MailOpener.lateCommitMs) has passed since `writtenAt` (epoch ms,
 * when the intent to append was written): at most that long, whatever the clock did. No wait
 * without either. Waited for even during a shutdown: looking sooner could append it twice.
 */
export async function untilLateCommitSettled(writtenAt: number | undefined, lateCommitMs: number | undefined): Promise<void> {
  if (writtenAt === undefined || Number.isNaN(writtenAt) || !lateCommitMs || lateCommitMs <= 0) return;
  const wait = Math.min(lateCommitMs, writtenAt + lateCommitMs - Date.now());
  if (wait > 0) await sleep(wait);
}
