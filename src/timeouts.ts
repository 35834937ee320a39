// Every timeout automigrate waits on, in one table: what waits, how long, and why that long.
// Settings an admin may change (retry waits, PIM and provisioning commands, LDAP) live in
// config.json instead; these are the fixed ones.
export const TIMEOUTS = {
  /** Connecting to an IMAP server and getting its greeting. */
  imapConnectMs: 30_000,
  /** An IMAP connection silent this long is dead: the longest single answer (a 25 MB FETCH or APPEND on a slow link) fits well inside. */
  imapIdleMs: 5 * 60_000,
  /**
   * A read from a server (FETCH, SEARCH, LIST...) must end within this, plus its expected bytes
   * at the slowest rate a server may keep up (imapMinBytesPerSec): a server that trickles a byte
   * now and then never trips the idle timeout, and the CLI and the daemon must still end.
   */
  imapReadBaseMs: Number(process.env.AUTOMIGRATE_TEST_READ_DEADLINE_MS) || 120_000,
  imapMinBytesPerSec: 64 * 1024,
  /** LOGOUT when closing a connection: not waited for longer (the socket is closed anyway). */
  imapLogoutMs: 2_000,
  /** A first login's password check on the old server: Dovecot's auth answers the user within its own limits. */
  firstLoginCheckMs: 10_000,
  /** test-connection run from the console (an admin is waiting in front of it). */
  consoleTestConnectionMs: 5_000,
  /** Waiting for another process's lock on a shared file (settings, licence ledger, passwd-file, account state). */
  lockWaitMs: 10_000,
  /** How often a daemon in cluster mode notes itself alive in the database (and finds a lost lock connection). */
  nodeHeartbeatMs: 10_000,
  /** How often a daemon in cluster mode sends the local accounts it learnt to the database (routing for the MX nodes). */
  routePublishMs: 2_000,
  /** Creating an account at a first login: may wait behind another creation of the same user. */
  accountCreateLockMs: 20_000,
  /** A lock written on another host (shared home) whose holder has not refreshed it for this long is dead; holders refresh every quarter of it. */
  lockLeaseMs: 120_000,
  /** A takeover claim on a stale lock older than this, whose creator is dead, was left by a crash. */
  staleLockClaimMs: 30_000,
  /**
   * A batch found in flight after a crash: an APPEND the dead run had fully sent may still be
   * committed by the new server after the run died (it has read the bytes; the client's death
   * does not abort it). The rerun looks for that batch on the target no sooner than this after
   * the dead run wrote its intent, so a late commit is seen and not appended twice (the IMAP
   * opener's lateCommitMs).
   */
  inFlightSettleMs: 3_000,
  /**
   * A batch's commit also records the next batch's intent (one state write instead of two).
   * That intent is used for the next APPEND only if it was written no longer than this before
   * it; else a fresh one is written first, so the settle wait above still counts from a time
   * close to the APPEND (it may be this much earlier, not more).
   */
  intentReuseMs: 250,
  /** Shutdown (SIGTERM): running jobs get this long to reach a safe point. systemd's TimeoutStopSec=15 leaves 7 s for the state flush and the sockets. */
  shutdownJobsMs: 8_000,
  /** Closing a listening socket at shutdown. */
  socketCloseMs: 1_000,
  /** A netstring request must be complete within this of its first byte (a trickling sender would hold a connection slot). */
  socketRequestMs: 10_000,
  /** Postfix keeps socketmap connections open between lookups: closed when silent this long. */
  routingIdleMs: 10 * 60_000,
  /** Dovecot's helpers connect per check: a first-login connection silent this long is closed. */
  firstLoginIdleMs: 120_000,
  /** A rotated login log that has not grown for this long is closed. */
  rotatedLogIdleMs: 30_000,
  /** The demo's daemon gets this long to stop when the console quits. */
  demoDaemonStopMs: 10_000,
} as const;
