// Asking an identity provider for an access token: Microsoft's client-credentials grant (a
// client secret, or a client-assertion JWT signed with the app's certificate key), Google's
// JWT bearer grant for a service account with domain-wide delegation, or an admin's command.
// The token is returned to the caller only: never logged, written or put in argv. Every
// failure is coded: TOKEN_REFUSED (the provider said no: its own error text and the setting
// to check) or TOKEN_UNAVAILABLE (unreachable, timed out, an answer that is not one).
import { createHash, createPrivateKey, randomUUID, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { SignJWT } from "jose";
import { z } from "zod";
import type { OAuth2Auth } from "../config/schema.ts";
import { readPasswordFile } from "../config/secrets.ts";
import { AutomigrateError } from "../errors.ts";
import { loginName } from "../address.ts";
import { hintFor, PROVIDERS } from "./providers.ts";
import type { IssuedToken } from "./token-cache.ts";

/** Most bytes read from a token endpoint or command. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Lifetime assumed for a token a command prints without one. */
export const COMMAND_TOKEN_SEC = 300;

const printable = (s: string, max = 300) => s.replace(/[\x00-\x1f\x7f]+/g, " ").trim().slice(0, max);

const tokenAnswer = z.object({
  access_token: z.string().min(1).max(16 * 1024).regex(/^[\x21-\x7e]+$/, "has characters a bearer token cannot hold"),
  expires_in: z.coerce.number().int().positive().max(86_400 * 366).optional(),
});
const errorAnswer = z.object({ error: z.string().max(200), error_description: z.string().max(2000).optional() });

const serviceAccountKey = z.object({
  client_email: z.string().min(3),
  private_key: z.string().includes("PRIVATE KEY"),
  private_key_id: z.string().optional(),
  token_uri: z.url().optional(),
});

interface Ask {
  auth: OAuth2Auth;
  /** The login the token is for (the old server's login name for the user). */
  login: string;
  /** Where these settings live, for hints ("domains.example.com.migration.old.auth"). */
  key: string;
}

function refused(a: Ask, text: string, error: string | undefined, cause?: unknown): AutomigrateError {
  return new AutomigrateError(`the identity provider (${a.auth.provider}) refused a token for ${a.login}: ${text}`, { user: a.login, hint: hintFor(a.auth, a.key, error) }, { code: "TOKEN_REFUSED", cause });
}

function unavailable(a: Ask, where: string, text: string, cause?: unknown): AutomigrateError {
  return new AutomigrateError(`no token from ${where}: ${text}`, { user: a.login, server: where, hint: hintFor(a.auth, a.key, undefined) }, { code: "TOKEN_UNAVAILABLE", transient: true, cause });
}

function readKeyFile(a: Ask, path: string, setting: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new AutomigrateError(`cannot read ${setting}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path, hint: `check ${a.key}.${setting} (a file readable by automigrate only)` }, { code: "CONFIG" });
  }
}

function privateKey(a: Ask, pem: string, file: string, setting: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw new AutomigrateError(`${setting} holds no private key automigrate can read (PEM, PKCS#8 or PKCS#1)`, { file, hint: `check ${a.key}.${setting}` }, { code: "CONFIG", cause: e });
  }
}

/** POSTs a form to a token endpoint and reads the token (or the provider's error) out of its answer. */
async function postForm(a: Ask, url: string, form: Record<string, string>): Promise<IssuedToken> {
  const where = new URL(url).host;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams(form),
      redirect: "error",
      signal: AbortSignal.timeout(a.auth.timeoutSec * 1000),
    });
  } catch (e) {
    throw unavailable(a, where, (e as Error).name === "TimeoutError" ? `no answer within ${a.auth.timeoutSec} s` : printable((e as Error).message), e);
  }
  const body = (await res.text().catch(() => "")).slice(0, MAX_ANSWER_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw unavailable(a, where, `HTTP ${res.status}, not a JSON answer`);
  }
  const err = errorAnswer.safeParse(json);
  if (!res.ok || err.success) {
    if (err.success && res.status < 500) throw refused(a, printable(`${err.data.error}${err.data.error_description ? `: ${err.data.error_description}` : ""}`), err.data.error);
    throw unavailable(a, where, `HTTP ${res.status}${err.success ? ` ${printable(err.data.error)}` : ""}`);
  }
  const ok = tokenAnswer.safeParse(json);
  if (!ok.success) throw unavailable(a, where, `the answer holds no usable access_token (${ok.error.issues[0]?.path.join(".")} ${ok.error.issues[0]?.message})`);
  return { token: ok.data.access_token, expiresInSec: ok.data.expires_in ?? 3600 };
}

async function microsoft(a: Ask): Promise<IssuedToken> {
  const auth = a.auth;
  const url = auth.tokenUrl ?? PROVIDERS.microsoft.defaultTokenUrl!(auth);
  const form: Record<string, string> = { client_id: auth.clientId!, scope: auth.scope ?? PROVIDERS.microsoft.defaultScope!, grant_type: "client_credentials" };
  if (auth.certificateFile && auth.keyFile) {
    let x5t: string;
    try {
      x5t = createHash("sha1").update(new X509Certificate(readKeyFile(a, auth.certificateFile, "certificateFile")).raw).digest("base64url");
    } catch (e) {
      if (e instanceof AutomigrateError) throw e;
      throw new AutomigrateError("certificateFile holds no PEM certificate", { file: auth.certificateFile, hint: `check ${a.key}.certificateFile` }, { code: "CONFIG", cause: e });
    }
    const key = privateKey(a, readKeyFile(a, auth.keyFile, "keyFile"), auth.keyFile, "keyFile");
    form.client_assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    form.client_assertion = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", typ: "JWT", x5t })
      .setIssuer(auth.clientId!)
      .setSubject(auth.clientId!)
      .setAudience(url)
      .setJti(randomUUID())
      .setNotBefore("0s")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(key);
  } else {
    form.client_secret = readPasswordFile(auth.clientSecretFile!, `${a.key}.clientSecretFile`);
  }
  return postForm(a, url, form);
}

async function google(a: Ask): Promise<IssuedToken> {
  const file = a.auth.serviceAccountKeyFile!;
  let parsed: z.infer<typeof serviceAccountKey>;
  try {
    parsed = serviceAccountKey.parse(JSON.parse(readKeyFile(a, file, "serviceAccountKeyFile")));
  } catch (e) {
    if (e instanceof AutomigrateError) throw e;
    throw new AutomigrateError("serviceAccountKeyFile is not a service account's JSON key (client_email, private_key)", { file, hint: `download a JSON key for the service account and point ${a.key}.serviceAccountKeyFile at it` }, { code: "CONFIG", cause: e });
  }
  const url = a.auth.tokenUrl ?? parsed.token_uri ?? "https://oauth2.googleapis.com/token";
  const assertion = await new SignJWT({ scope: a.auth.scope ?? PROVIDERS.google.defaultScope! })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(parsed.private_key_id ? { kid: parsed.private_key_id } : {}) })
    .setIssuer(parsed.client_email)
    .setSubject(a.login)
    .setAudience(url)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(privateKey(a, parsed.private_key, file, "serviceAccountKeyFile"));
  return postForm(a, url, { grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion });
}

async function command(a: Ask): Promise<IssuedToken> {
  const argv = a.auth.command!.map((arg) => loginName(arg, a.login));
  const what = `${a.key}.command (${argv[0]})`;
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: a.auth.timeoutSec * 1000, killSignal: "SIGKILL" });
  } catch (e) {
    throw refused(a, `cannot run ${argv[0]}: ${printable((e as Error).message)}`, undefined, e);
  }
  const [out, err, code] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text(), proc.exited]);
  if (proc.signalCode) throw unavailable(a, what, `stopped after ${a.auth.timeoutSec} s (${proc.signalCode})`);
  if (code !== 0) throw refused(a, `${argv[0]} exited ${code}${err.trim() ? `: ${printable(err)}` : ""}`, undefined);
  const text = out.slice(0, MAX_ANSWER_BYTES).trim();
  if (text.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw refused(a, `${argv[0]} printed JSON that does not parse`, undefined);
    }
    const ok = tokenAnswer.safeParse(json);
    if (!ok.success) throw refused(a, `${argv[0]} printed no usable access_token`, undefined);
    return { token: ok.data.access_token, expiresInSec: ok.data.expires_in ?? COMMAND_TOKEN_SEC };
  }
  const ok = tokenAnswer.shape.access_token.safeParse(text);
  if (!ok.success) throw refused(a, `${argv[0]} printed no token (one line, or JSON with access_token)`, undefined);
  return { token: ok.data, expiresInSec: COMMAND_TOKEN_SEC };
}

const GRANTS: Record<OAuth2Auth["provider"], (a: Ask) => Promise<IssuedToken>> = { microsoft, google, command };

/** Asks the provider of `auth` for a token for `login` (no cache: see broker.ts). */
export function requestToken(auth: OAuth2Auth, login: string, key: string): Promise<IssuedToken> {
  return GRANTS[auth.provider]({ auth, login, key });
}
