// A notice put once into the user's INBOX on the new server, by APPEND through the mail-store
// port (not SMTP: no mail loop, no spam filter). Exactly once across crashes and reruns: the
// state says "appending" (with the INBOX's UIDVALIDITY and UIDNEXT) before the APPEND and
// "delivered" after it; a run that finds "appending" looks for the notice's Message-ID among
// the messages from that UIDNEXT on before appending again. A failure never fails the
// migration: it is kept in the state (and the run's report) and tried again on the next run.
import { crashPoint } from "../crash-points.ts";
import { AutomigrateError, errorText } from "../errors.ts";
import type { MailOpener, MailWriter } from "../mailstore/port.ts";
import type { NoticeRecord } from "../store/account-state.ts";
import type { AccountDocument } from "../storage/account-states.ts";
import { untilLateCommitSettled } from "./late-commit.ts";
import { noticeMessageId, renderNotice, type NoticeKind, type NoticeValues } from "./notices.ts";

export interface NoticeOutcome {
  kind: NoticeKind;
  status: "delivered" | "failed";
  /** Found in the INBOX after an interrupted run (not appended again). */
  found?: boolean;
  /** Appended into an INBOX that held nothing before: the notice is all it holds of ours. */
  intoEmptyInbox?: boolean;
  error?: string;
}

const INBOX = "INBOX";

async function record(state: AccountDocument, kind: NoticeKind, r: NoticeRecord): Promise<void> {
  await state.update((s) => {
    s.notices = { ...s.notices, [kind]: r };
  });
}

/** Whether a message with the notice's Message-ID is in the INBOX from `uidNext` on. */
async function alreadyThere(opener: MailOpener, writer: MailWriter, messageId: string, uidNext: number): Promise<boolean> {
  const own = writer.reader?.();
  const reader = own ?? (await opener.targetReader());
  try {
    const box = await reader.examine(INBOX);
    if (box.exists === 0) return false;
    const needle = messageId.toLowerCase();
    for await (const m of reader.metadata(`${uidNext}:*`, { headers: true })) {
      if (m.uid >= uidNext && m.headers?.toString("latin1").toLowerCase().includes(needle)) return true;
    }
    return false;
  } finally {
    await reader.close();
  }
}

/** Puts the `kind` notice into the user's INBOX unless it is there already; undefined when none is due. */
export async function deliverNotice(
  kind: NoticeKind,
  o: { opener: MailOpener; state: AccountDocument; user: string; template: string | undefined; values: NoticeValues; now?: Date },
): Promise<NoticeOutcome | undefined> {
  const before = o.state.data.notices?.[kind];
  if (!o.template || before?.state === "delivered") return undefined;
  const now = o.now ?? new Date();
  const messageId = noticeMessageId(kind, o.user);
  let writer: MailWriter | undefined;
  let appending: NoticeRecord | undefined;
  try {
    writer = await o.opener.writer();
    const inbox = await writer.select(INBOX);
    if (before?.state === "appending") await untilLateCommitSettled(Date.parse(before.at), o.opener.lateCommitMs);
    if (before?.state === "appending" && before.uidNext && before.uidValidity === inbox.uidValidity && (await alreadyThere(o.opener, writer, messageId, before.uidNext))) {
      await record(o.state, kind, { state: "delivered", at: now.toISOString() });
      return { kind, status: "delivered", found: true };
    }
    appending = { state: "appending", at: now.toISOString(), uidValidity: inbox.uidValidity, uidNext: inbox.uidNext };
    await record(o.state, kind, appending);
    const r = await writer.appendBatch(INBOX, [{ content: renderNotice(kind, o.template, o.values, o.user, now), flags: [], internalDate: now }]);
    if (!r.ok) throw new AutomigrateError(`the new server refused the ${kind} notice: ${r.reason}`, { user: o.user, folder: INBOX }, { code: "REFUSED_BY_NEW_SERVER" });
    crashPoint("notice-appended");
    await record(o.state, kind, { state: "delivered", at: new Date().toISOString() });
    return { kind, status: "delivered", intoEmptyInbox: inbox.exists === 0 };
  } catch (e) {
    const error = errorText(e);
    // after an APPEND that may have landed, the next run still looks before appending again
    await record(o.state, kind, appending ? { ...appending, error } : { state: "failed", at: now.toISOString(), error }).catch(() => {});
    return { kind, status: "failed", error };
  } finally {
    await writer?.close().catch(() => {});
  }
}
