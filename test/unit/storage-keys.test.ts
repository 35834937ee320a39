// Cluster mode's pure parts: which settings are a node's own, how the two halves join, and
// which database URLs are accepted (never one with a password in it).
import { describe, expect, test } from "bun:test";
import { emptyConfig } from "../../src/config/schema.ts";
import { joinParts, nodePart, sharedPart } from "../../src/storage/node-keys.ts";
import { describeDatabase, postgresUrlIssue } from "../../src/storage/postgres-url.ts";

describe("a node's half and the shared half", () => {
  const config = {
    version: 1,
    storage: { driver: "postgres", url: "postgres://am@db/am" },
    node: { name: "n1" },
    logins: [{ path: "/var/log/dovecot.log", format: "dovecot" }],
    routing: { socket: "/run/am/routing.sock", socketMode: "0660", localTransport: "lmtp:unix:private/dovecot-lmtp", recipientDelimiter: "+" },
    firstLogin: { socket: "/run/am/auth.sock", failuresPerUser: 5 },
    metrics: { listen: "127.0.0.1:9464" },
    workers: { total: 8 },
    domains: { "example.com": { migration: { enabled: true } } },
  };

  test("the node's half holds its storage, name, logs, sockets and metrics; nothing shared", () => {
    expect(nodePart(config)).toEqual({
      version: 1,
      storage: config.storage,
      node: config.node,
      logins: config.logins,
      metrics: config.metrics,
      routing: { socket: "/run/am/routing.sock", socketMode: "0660" },
      firstLogin: { socket: "/run/am/auth.sock" },
    });
  });

  test("the shared half holds the rest; a parent left empty is dropped", () => {
    expect(sharedPart(config)).toEqual({
      version: 1,
      routing: { localTransport: "lmtp:unix:private/dovecot-lmtp", recipientDelimiter: "+" },
      firstLogin: { failuresPerUser: 5 },
      workers: { total: 8 },
      domains: config.domains,
    });
    expect(sharedPart({ routing: { socket: "/x" } })).toEqual({});
  });

  test("joined again they are the whole; a node's key wins over one left in the shared half", () => {
    expect(joinParts(nodePart(config), sharedPart(config))).toEqual(config);
    const joined = joinParts({ logins: [] }, { logins: [{ path: "/elsewhere" }], workers: { total: 2 } });
    expect(joined).toEqual({ logins: [], workers: { total: 2 } });
  });

  test("the halves of the defaults are disjoint and complete", () => {
    const d = emptyConfig() as unknown as Record<string, unknown>;
    expect(joinParts(nodePart(d), sharedPart(d))).toEqual(d);
  });

  test("inputs are never changed", () => {
    const copy = structuredClone(config);
    nodePart(config);
    sharedPart(config);
    joinParts(nodePart(config), sharedPart(config));
    expect(config).toEqual(copy);
  });
});

describe("storage.url", () => {
  test("a URL with user, host and database is accepted and shown as it is", () => {
    expect(postgresUrlIssue("postgres://automigrate@db.example.com:5432/automigrate")).toBeUndefined();
    expect(postgresUrlIssue("postgresql://am@10.0.0.5/am?sslmode=require")).toBeUndefined();
    expect(describeDatabase("postgres://automigrate@db.example.com:5432/automigrate")).toBe("postgres://automigrate@db.example.com:5432/automigrate");
  });

  test("a password in the URL or its parameters is refused, pointing at storage.passwordFile", () => {
    for (const url of ["postgres://am:secret@db/am", "postgres://am@db/am?password=secret", "postgres://am@db/am?PGPASSWORD=x"]) {
      const issue = postgresUrlIssue(url);
      expect(issue).toContain("passwordFile");
      expect(issue).not.toContain("secret");
    }
  });

  test("what is missing is named", () => {
    expect(postgresUrlIssue("not a url")).toContain("is not a URL");
    expect(postgresUrlIssue("mysql://am@db/am")).toContain("is not postgres:");
    expect(postgresUrlIssue("postgres://db/am")).toContain("no database user");
    expect(postgresUrlIssue("postgres://am@db")).toContain("no database");
    expect(postgresUrlIssue("postgres://am@db/")).toContain("no database");
  });
});
