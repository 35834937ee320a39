// A local OAuth2 token server for the tests (no internet here): Microsoft's client-credentials
// grant (client secret, or a client-assertion JWT signed with the app's certificate key),
// Google's JWT bearer grant (a service account with domain-wide delegation), and RFC 7662
// introspection for the old Dovecot: per-user tokens (passdb oauth2) and app-wide tokens that
// name no mailbox (Exchange Online's IMAP.AccessAsApp, checked by oauth-app-checkpassword.pl).
// Signatures are checked with keys the test generates; every request is counted.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from "jose";

export const APP_ROLE = "IMAP.AccessAsApp";

interface Issued {
  kind: "app" | "user";
  client: string;
  user?: string;
  scope: string;
  expiresAt: number;
}

export interface MicrosoftApp {
  tenant: string;
  clientId: string;
  /** Where the client secret is written (0600), when the app has one. */
  secretFile: string;
  secret: string;
  /** The app's certificate and its private key (PEM files), for client assertions. */
  certificateFile: string;
  keyFile: string;
}

export interface GoogleServiceAccount {
  clientEmail: string;
  /** The JSON key file as Google issues it (0600). */
  keyFile: string;
}

export interface TokenServer {
  url: string;
  microsoft: MicrosoftApp;
  google: GoogleServiceAccount;
  /** Microsoft's token endpoint for a tenant (the default tenant's app). */
  microsoftTokenUrl(tenant?: string): string;
  googleTokenUrl: string;
  /** Where a token command (test/support/oauth-token-command.ts) gets a user's token. */
  mintUrl: string;
  /** Introspection of per-user tokens (Dovecot passdb oauth2, introspection_mode = post). */
  introspectUrl: string;
  /** Introspection of app-wide tokens: active and the app role, no user. */
  appIntrospectUrl: string;
  /** Token requests by grant and result, e.g. "microsoft:ok", "google:invalid_grant". */
  requests: Map<string, number>;
  /** Tokens issued per subject ("app:<clientId>" or "user:<address>"). */
  issuedFor: Map<string, number>;
  /** Every access token issued (a test greps files, logs and argv for them). */
  tokens: string[];
  /** Lifetime of tokens issued from now on (seconds). */
  lifetimeSec: number;
  /** Disables (true) or re-enables the Microsoft app: token requests fail with AADSTS7000112, its tokens stop working. */
  revokeApp(revoked: boolean): void;
  /** Every token issued so far stops working (the IMAP login then fails until a new one is fetched). */
  expireAll(): void;
  count(key: string): number;
  stop(): Promise<void>;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** A self-signed certificate and its key for the Microsoft app (openssl, as an admin would make one). */
function makeCertificate(dir: string): { certificateFile: string; keyFile: string } {
  const certificateFile = join(dir, "app-cert.pem");
  const keyFile = join(dir, "app-key.pem");
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certificateFile, "-days", "2", "-subj", "/CN=automigrate-test-app"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl could not make the test app's certificate: ${r.stderr || r.error}`);
  chmodSync(keyFile, 0o600);
  return { certificateFile, keyFile };
}

function oauthError(status: number, error: string, description: string): Response {
  return Response.json({ error, error_description: description }, { status });
}

export async function startTokenServer(opts: { tenant?: string } = {}): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), "automigrate-oauth-"));
  const tenant = opts.tenant ?? "contoso.onmicrosoft.com";
  const clientId = "11111111-2222-3333-4444-555555555555";
  const secret = randomBytes(18).toString("base64url");
  const secretFile = join(dir, "client-secret");
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const { certificateFile, keyFile } = makeCertificate(dir);
  const cert = new X509Certificate(readFileSync(certificateFile));
  const certKey = cert.publicKey;
  const thumbprint = createHash("sha1").update(cert.raw).digest("base64url");

  const sa = await generateKeyPair("RS256", { extractable: true });
  const clientEmail = "migrator@automigrate-test.iam.gserviceaccount.com";
  const saKeyId = randomBytes(20).toString("hex");
  const saPublic = await importSPKI(await exportSPKI(sa.publicKey), "RS256");
  const googleKeyFile = join(dir, "service-account.json");

  const issued = new Map<string, Issued>();
  const requests = new Map<string, number>();
  const issuedFor = new Map<string, number>();
  const tokens: string[] = [];
  let revoked = false;

  const issue = (t: Omit<Issued, "expiresAt">, lifetimeSec: number): Response => {
    const token = `${t.kind === "app" ? "app" : "usr"}.${randomBytes(24).toString("base64url")}`;
    issued.set(token, { ...t, expiresAt: Date.now() + lifetimeSec * 1000 });
    tokens.push(token);
    bump(issuedFor, t.kind === "app" ? `app:${t.client}` : `user:${t.user}`);
    return Response.json({ token_type: "Bearer", expires_in: lifetimeSec, ext_expires_in: lifetimeSec, access_token: token });
  };

  const live = (token: string): Issued | undefined => {
    const t = issued.get(token);
    if (!t || t.expiresAt <= Date.now()) return undefined;
    if (t.kind === "app" && revoked) return undefined;
    return t;
  };

  const server: TokenServer = {
    url: "",
    microsoft: { tenant, clientId, secret, secretFile, certificateFile, keyFile },
    google: { clientEmail, keyFile: googleKeyFile },
    microsoftTokenUrl: (t = tenant) => `${server.url}/${t}/oauth2/v2.0/token`,
    googleTokenUrl: "",
    mintUrl: "",
    introspectUrl: "",
    appIntrospectUrl: "",
    requests,
    issuedFor,
    tokens,
    lifetimeSec: 3600,
    revokeApp: (r) => (revoked = r),
    expireAll: () => {
      for (const t of issued.values()) t.expiresAt = 0;
    },
    count: (k) => requests.get(k) ?? 0,
    stop: async () => {
      await http.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  async function microsoft(reqTenant: string, form: URLSearchParams, url: string): Promise<Response> {
    const fail = (error: string, description: string, status = 401) => {
      bump(requests, `microsoft:${error}`);
      return oauthError(status, error, description);
    };
    if (reqTenant !== tenant) return fail("invalid_request", `AADSTS90002: Tenant '${reqTenant}' not found.`, 400);
    if (form.get("grant_type") !== "client_credentials") return fail("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 400);
    if (form.get("client_id") !== clientId) return fail("unauthorized_client", `AADSTS700016: Application with identifier '${form.get("client_id")}' was not found in the directory.`, 400);
    if (form.get("scope") !== "https://outlook.office365.com/.default") return fail("invalid_scope", `AADSTS1002012: The provided value for scope ${form.get("scope")} is not valid.`, 400);
    if (revoked) return fail("unauthorized_client", `AADSTS7000112: Application '${clientId}' is disabled.`, 400);
    const assertion = form.get("client_assertion");
    if (assertion !== null) {
      if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") return fail("invalid_client", "AADSTS50027: Invalid client_assertion_type.");
      try {
        const { payload, protectedHeader } = await jwtVerify(assertion, certKey, { audience: url, issuer: clientId, subject: clientId, algorithms: ["RS256", "PS256"] });
        if (protectedHeader.x5t !== thumbprint && protectedHeader["x5t#S256"] === undefined) return fail("invalid_client", "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.");
        if (!payload.jti) return fail("invalid_client", "AADSTS700024: Client assertion has no jti.");
      } catch (e) {
        return fail("invalid_client", `AADSTS700027: Client assertion failed signature validation. (${(e as Error).message})`);
      }
    } else if (form.get("client_secret") !== secret) {
      return fail("invalid_client", `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
    }
    bump(requests, "microsoft:ok");
    return issue({ kind: "app", client: clientId, scope: "https://outlook.office365.com/.default" }, server.lifetimeSec);
  }

  async function google(form: URLSearchParams, url: string): Promise<Response> {
    const fail = (error: string, description: string, status = 400) => {
      bump(requests, `google:${error}`);
      return oauthError(status, error, description);
    };
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return fail("unsupported_grant_type", "Invalid grant_type.");
    try {
      const { payload, protectedHeader } = await jwtVerify(form.get("assertion") ?? "", saPublic, { audience: url, issuer: clientEmail, algorithms: ["RS256"] });
      if (protectedHeader.kid !== saKeyId) return fail("invalid_grant", "Invalid JWT Signature.");
      if (payload.scope !== "https://mail.google.com/") return fail("invalid_scope", `Invalid OAuth scope or ID token audience provided: ${payload.scope}`);
      if (typeof payload.sub !== "string" || !payload.sub.includes("@")) return fail("invalid_grant", "Invalid email or User ID");
      bump(requests, "google:ok");
      return issue({ kind: "user", client: clientEmail, user: payload.sub, scope: "https://mail.google.com/" }, server.lifetimeSec);
    } catch (e) {
      return fail("invalid_grant", `Invalid JWT Signature. (${(e as Error).message})`);
    }
  }

  const http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const u = new URL(req.url);
      if (req.method !== "POST") return new Response("POST only\n", { status: 405 });
      const form = new URLSearchParams(await req.text());
      const ms = u.pathname.match(/^\/([^/]+)\/oauth2\/v2\.0\/token$/);
      if (ms) return microsoft(decodeURIComponent(ms[1]!), form, `${server.url}${u.pathname}`);
      if (u.pathname === "/google/token") return google(form, server.googleTokenUrl);
      if (u.pathname === "/mint") {
        // an identity provider's own tool, as a token command would call it: a token for one user
        const user = form.get("user") ?? "";
        if (!user.includes("@") || user.startsWith("unknown")) {
          bump(requests, "command:unknown_user");
          return oauthError(400, "unknown_user", `no such user: ${user}`);
        }
        bump(requests, "command:ok");
        return issue({ kind: "user", client: "command", user, scope: "imap" }, server.lifetimeSec);
      }
      if (u.pathname === "/introspect") {
        bump(requests, "introspect");
        const t = live(form.get("token") ?? "");
        return Response.json(t && t.kind === "user" ? { active: "true", username: t.user, scope: t.scope } : { active: "false" });
      }
      if (u.pathname === "/introspect-app") {
        bump(requests, "introspect-app");
        const t = live(form.get("token") ?? "");
        return Response.json(t && t.kind === "app" ? { active: true, roles: [APP_ROLE], appid: t.client } : { active: false });
      }
      return new Response("not found\n", { status: 404 });
    },
  });
  server.url = `http://127.0.0.1:${http.port}`;
  server.googleTokenUrl = `${server.url}/google/token`;
  server.introspectUrl = `${server.url}/introspect`;
  server.mintUrl = `${server.url}/mint`;
  server.appIntrospectUrl = `${server.url}/introspect-app`;
  writeFileSync(
    googleKeyFile,
    JSON.stringify({
      type: "service_account",
      project_id: "automigrate-test",
      private_key_id: saKeyId,
      private_key: await exportPKCS8(sa.privateKey),
      client_email: clientEmail,
      client_id: "100000000000000000001",
      token_uri: server.googleTokenUrl,
    }, null, 2),
    { mode: 0o600 },
  );
  return server;
}
