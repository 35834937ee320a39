// The IMAP opener: what the engine gets its connections from, for one user's endpoints and
// credentials (src/mailstore/endpoints.ts resolves them from the settings).
import type { Credentials, Endpoint } from "../endpoints.ts";
import type { MailOpener } from "../port.ts";
import { TIMEOUTS } from "../../timeouts.ts";
import { openReader, openStore, openWriter } from "./store.ts";

export function imapOpener(sides: { old: Endpoint; oldCreds: Credentials; target: Endpoint; targetCreds: Credentials }): MailOpener {
  return {
    old: () => openStore(sides.old, sides.oldCreds),
    oldReader: () => openReader(sides.old, sides.oldCreds),
    target: () => openStore(sides.target, sides.targetCreds),
    targetReader: () => openReader(sides.target, sides.targetCreds),
    writer: () => openWriter(sides.target, sides.targetCreds),
    // an IMAP server that has read a whole APPEND commits it, even when the client is gone
    lateCommitMs: TIMEOUTS.inFlightSettleMs,
  };
}
