// test-connection's judgement of a login on an unencrypted connection (RFC 3501 6.2.3): only
// LOGINDISABLED refuses LOGIN; acting for a user (SASL PLAIN authzid) needs AUTH=PLAIN.
import { describe, expect, test } from "bun:test";
import { plaintextLoginRefusal } from "../../src/diagnose/test-connection.ts";

const COURIER = ["IMAP4rev1", "UIDPLUS", "CHILDREN", "NAMESPACE", "QUOTA", "IDLE", "ACL", "ENABLE", "UTF8=ACCEPT"];

describe("plaintextLoginRefusal", () => {
  test("no AUTH=PLAIN but no LOGINDISABLED (Courier without TLS): LOGIN works", () => {
    expect(plaintextLoginRefusal(COURIER, false)).toBeUndefined();
  });
  test("LOGINDISABLED refuses any plaintext login, whatever the mechanisms", () => {
    expect(plaintextLoginRefusal(["IMAP4rev1", "AUTH=PLAIN", "LOGINDISABLED"], false)).toContain("(LOGINDISABLED)");
    expect(plaintextLoginRefusal(["imap4rev1", "logindisabled"], true)).toContain("(LOGINDISABLED)");
  });
  test("a master user acting with an authzid needs AUTH=PLAIN", () => {
    expect(plaintextLoginRefusal(COURIER, true)).toContain("no AUTH=PLAIN");
    expect(plaintextLoginRefusal([...COURIER, "AUTH=PLAIN"], true)).toBeUndefined();
  });
});
