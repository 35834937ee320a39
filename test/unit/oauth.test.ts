// Access tokens in memory: reuse until shortly before expiry, one request for many asks, a
// refused token dropped, a failing provider paused (no retry storm); the provider table.
import { describe, expect, test } from "bun:test";
import { expiryMarginMs, failurePauseMs, TokenCache } from "../../src/oauth/token-cache.ts";
import { hintFor, PROVIDERS, tokenKey } from "../../src/oauth/providers.ts";
import { oauth2Auth } from "../../src/config/schema.ts";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("token cache", () => {
  test("a token is reused until shortly before it expires, then fetched again", async () => {
    const c = clock();
    const cache = new TokenCache(c.now);
    let n = 0;
    const fetch = async () => ({ token: `t${++n}`, expiresInSec: 3600 });
    expect(await cache.get("app", fetch)).toBe("t1");
    c.advance(3600_000 - 61_000);
    expect(await cache.get("app", fetch)).toBe("t1");
    c.advance(2_000); // inside the last minute
    expect(await cache.get("app", fetch)).toBe("t2");
    expect(cache.requests).toBe(2);
  });

  test("many logins asking at once make one request; other keys their own", async () => {
    const cache = new TokenCache();
    let n = 0;
    const fetch = async () => {
      await Bun.sleep(10);
      return { token: `t${++n}`, expiresInSec: 3600 };
    };
    const got = await Promise.all(Array.from({ length: 20 }, () => cache.get("app", fetch)));
    expect(new Set(got)).toEqual(new Set(["t1"]));
    expect(await cache.get("user:b", fetch)).toBe("t2");
    expect(cache.requests).toBe(2);
  });

  test("a refused token is dropped (the next ask fetches), a newer one is not dropped by an old refusal", async () => {
    const cache = new TokenCache();
    let n = 0;
    const fetch = async () => ({ token: `t${++n}`, expiresInSec: 3600 });
    const first = await cache.get("app", fetch);
    cache.refused("app", first);
    const second = await cache.get("app", fetch);
    expect(second).toBe("t2");
    cache.refused("app", first); // a late refusal of the old token
    expect(await cache.get("app", fetch)).toBe("t2");
  });

  test("a failing provider is asked again only after a growing pause", async () => {
    const c = clock();
    const cache = new TokenCache(c.now);
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error("invalid_client");
    };
    for (let i = 0; i < 50; i++) await expect(cache.get("app", failing)).rejects.toThrow("invalid_client");
    expect(calls).toBe(1);
    c.advance(15_000);
    await expect(cache.get("app", failing)).rejects.toThrow();
    expect(calls).toBe(2);
    c.advance(15_000); // the pause is now 30 s
    await expect(cache.get("app", failing)).rejects.toThrow();
    expect(calls).toBe(2);
    // over ten minutes of logins every second: a few requests per minute at most
    for (let s = 0; s < 600; s++) {
      c.advance(1000);
      await cache.get("app", failing).catch(() => {});
    }
    expect(calls).toBeLessThanOrEqual(2 + 6);
    // once it works again the failure is forgotten
    c.advance(300_000);
    expect(await cache.get("app", async () => ({ token: "ok", expiresInSec: 60 }))).toBe("ok");
  });

  test("pauses and margins", () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(failurePauseMs)).toEqual([15_000, 30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    expect(expiryMarginMs(3600)).toBe(60_000);
    expect(expiryMarginMs(5)).toBe(500);
  });
});

describe("providers", () => {
  const ms = oauth2Auth.parse({ mode: "oauth2", provider: "microsoft", tenant: "contoso.onmicrosoft.com", clientId: "abc", clientSecretFile: "/s" });
  const google = oauth2Auth.parse({ mode: "oauth2", provider: "google", serviceAccountKeyFile: "/k.json" });

  test("microsoft has one token for the app, google one per user", () => {
    expect(tokenKey(ms, "a@x.org")).toBe(tokenKey(ms, "b@x.org"));
    expect(tokenKey(google, "a@x.org")).not.toBe(tokenKey(google, "b@x.org"));
    // other settings, another token
    expect(tokenKey({ ...ms, clientId: "other" }, "a@x.org")).not.toBe(tokenKey(ms, "a@x.org"));
    expect(PROVIDERS.microsoft.defaultTokenUrl!(ms)).toBe("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
  });

  test("each provider error names the setting to check", () => {
    const k = "domains.x.org.migration.old.auth";
    expect(hintFor(ms, k, "invalid_client")).toContain(`${k}.clientSecretFile`);
    expect(hintFor({ ...ms, clientSecretFile: undefined, certificateFile: "/c", keyFile: "/k" }, k, "invalid_client")).toContain(`${k}.certificateFile`);
    expect(hintFor(ms, k, "unauthorized_client")).toContain("IMAP.AccessAsApp");
    expect(hintFor(ms, k, "something_new")).toContain(`${k}.tenant`);
    expect(hintFor(google, k, "unauthorized_client")).toContain("domain-wide delegation");
    expect(hintFor(google, k, "invalid_grant")).toContain(`${k}.serviceAccountKeyFile`);
  });
});
