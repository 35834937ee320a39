// Which errors are called the database's: only the client's own (SQLError), with the database
// named and never a password; a refusal of ours or a bug passes through as it is.
import { expect, test } from "bun:test";
import { SQL } from "bun";
import { AutomigrateError } from "../../src/errors.ts";
import { databaseError } from "../../src/storage/postgres/connect.ts";

const WHERE = "postgres://automigrate@db.example.com:5432/automigrate";

test("the client's errors are the database's: reachability is STORAGE (temporary), a refused login LOGIN_REFUSED", () => {
  const down = databaseError(new SQL.SQLError("Connection refused"), WHERE) as AutomigrateError;
  expect(down).toBeInstanceOf(AutomigrateError);
  expect(down.code).toBe("STORAGE");
  expect(down.transient).toBe(true);
  expect(down.message).toContain(WHERE);
  const refused = databaseError(new SQL.SQLError("password authentication failed for user \"automigrate\""), WHERE) as AutomigrateError;
  expect(refused.code).toBe("LOGIN_REFUSED");
  expect(refused.context.hint).toContain("storage.passwordFile");
});

test("anything else passes through unchanged: our refusals keep their code, a bug stays a bug", () => {
  const ours = new AutomigrateError("refused", {}, { code: "INPUT", exitCode: 2 });
  expect(databaseError(ours, WHERE)).toBe(ours);
  const bug = new TypeError("undefined is not an object");
  expect(databaseError(bug, WHERE)).toBe(bug);
});
