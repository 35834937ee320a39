// What differs between identity providers, as data: where tokens come from by default, what
// they are asked for, whether one token serves every mailbox (an app) or each user has their
// own, and which setting to check for each error the provider can answer. Pure.
import type { OAuth2Auth } from "../config/schema.ts";

export type Provider = OAuth2Auth["provider"];

export interface ProviderProfile {
  /** "app": one token for every mailbox (client credentials); "user": one per mailbox. */
  tokenPer: "app" | "user";
  defaultScope?: string;
  defaultTokenUrl?: (auth: OAuth2Auth) => string;
  /** The setting to check (and what to do) for an OAuth2 error code (RFC 6749 5.2), by code; `*` for any other. */
  hints: Record<string, (key: string, auth: OAuth2Auth) => string>;
  /** What to check when the IMAP server refuses a token it was just given. */
  loginRefused: (key: string) => string;
}

const credentialsOf = (key: string, a: OAuth2Auth) => (a.certificateFile ? `${key}.certificateFile and ${key}.keyFile (the certificate must be uploaded to the app registration)` : `${key}.clientSecretFile (the secret's value, not its id; secrets expire)`);

export const PROVIDERS: Record<Provider, ProviderProfile> = {
  microsoft: {
    tokenPer: "app",
    defaultScope: "https://outlook.office365.com/.default",
    defaultTokenUrl: (a) => `https://login.microsoftonline.com/${encodeURIComponent(a.tenant ?? "")}/oauth2/v2.0/token`,
    hints: {
      invalid_client: (k, a) => `check ${credentialsOf(k, a)}`,
      unauthorized_client: (k) => `check ${k}.clientId and that the app registration is enabled in the tenant, with admin consent for IMAP.AccessAsApp`,
      invalid_scope: (k) => `check ${k}.scope (default https://outlook.office365.com/.default)`,
      invalid_request: (k) => `check ${k}.tenant and ${k}.tokenUrl`,
      "*": (k) => `check ${k}.tenant, ${k}.clientId and ${k}.tokenUrl`,
    },
    loginRefused: (k) => `the token was issued but the mailbox refused it: give the app's service principal access to the mailbox (New-ServicePrincipal, Add-MailboxPermission -AccessRights FullAccess) and check ${k}.clientId`,
  },
  google: {
    tokenPer: "user",
    defaultScope: "https://mail.google.com/",
    hints: {
      invalid_grant: (k) => `check that the user exists in the Workspace (the old login is the token's subject), that the key in ${k}.serviceAccountKeyFile is still valid, and the clock of this host`,
      unauthorized_client: (k) => `grant domain-wide delegation to the service account in ${k}.serviceAccountKeyFile (its client id) with the scope https://mail.google.com/ in the Admin console`,
      invalid_scope: (k) => `check ${k}.scope (default https://mail.google.com/) and the scopes of the domain-wide delegation`,
      "*": (k) => `check ${k}.serviceAccountKeyFile and ${k}.tokenUrl`,
    },
    loginRefused: (k) => `the token was issued but Gmail refused it: check that IMAP is enabled for the user and the delegation's scope (${k}.scope)`,
  },
  command: {
    tokenPer: "user",
    hints: { "*": (k) => `check ${k}.command (run it by hand as the automigrate user)` },
    loginRefused: (k) => `the token ${k}.command printed was refused by the server: check what it prints for this user`,
  },
};

/** The hint for an error a provider answered (its OAuth2 error code), naming the setting to check. */
export function hintFor(auth: OAuth2Auth, key: string, error: string | undefined): string {
  const hints = PROVIDERS[auth.provider].hints;
  return (hints[error ?? ""] ?? hints["*"]!)(key, auth);
}

/** The cache key of the token a login needs: the app's settings, plus the login where each user has their own. */
export function tokenKey(auth: OAuth2Auth, login: string): string {
  const app = JSON.stringify([auth.provider, auth.tenant, auth.clientId, auth.clientSecretFile, auth.certificateFile, auth.keyFile, auth.serviceAccountKeyFile, auth.scope, auth.tokenUrl, auth.command]);
  return PROVIDERS[auth.provider].tokenPer === "app" ? app : `${app}\n${login}`;
}
