// Groundwork for cluster mode: the tests' throwaway PostgreSQL (test/support/postgres.ts)
// starts as an unprivileged user on a free port, answers psql and Bun's own SQL client (the
// client a postgres storage driver would use, no dependency), gives row locks with SKIP LOCKED
// (what a shared queue is built on), and is gone when stopped.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { startPostgres, type Postgres } from "./support/postgres.ts";

let pg: Postgres;

beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

test("a real PostgreSQL: psql and Bun.SQL connect; two sessions claim different rows with FOR UPDATE SKIP LOCKED", async () => {
  expect(pg.sql("select current_setting('server_version_num')::int >= 150000")).toBe("t");
  pg.sql("create table jobs (id serial primary key, username text not null)");
  pg.sql("insert into jobs (username) values ('a@example.com'), ('b@example.com')");
  const a = new Bun.SQL(pg.url);
  const b = new Bun.SQL(pg.url);
  try {
    const claim = (db: InstanceType<typeof Bun.SQL>, hold: Promise<void>) =>
      db.begin(async (tx) => {
        const [row] = await tx`select id, username from jobs order by id limit 1 for update skip locked`;
        await hold;
        return row?.username as string | undefined;
      });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = claim(a, held);
    await Bun.sleep(200);
    // the first transaction holds a@…: the second is given the next row, not made to wait
    const second = await claim(b, Promise.resolve());
    release();
    expect([await first, second]).toEqual(["a@example.com", "b@example.com"]);
  } finally {
    await a.close();
    await b.close();
  }
});

test("stopped: the server is gone and its directory removed", async () => {
  const port = pg.port;
  expect(existsSync(pg.dir)).toBe(true);
  await pg.stop();
  expect(Bun.spawnSync(["psql", "-h", "127.0.0.1", "-p", String(port), "-U", pg.user, "-d", "postgres", "-c", "select 1"]).exitCode).not.toBe(0);
  expect(existsSync(pg.dir)).toBe(false);
  pg = undefined as unknown as Postgres;
});
