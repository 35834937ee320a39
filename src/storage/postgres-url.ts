// storage.url: a PostgreSQL connection URL without a password (the password lives in
// storage.passwordFile, never in config.json, argv or the environment).

/** What is wrong with `url` as storage.url, in words an admin can act on; undefined when it is fine. */
export function postgresUrlIssue(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL like postgres://automigrate@db.example.com:5432/automigrate`;
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") return `${JSON.stringify(u.protocol)} is not postgres: (a URL like postgres://automigrate@db.example.com:5432/automigrate)`;
  if (u.password) return "holds a password: put it in a file of mode 0600 and set storage.passwordFile to that file's path instead (a URL shows up in config.json, logs and process lists)";
  if (!u.hostname) return "names no host, e.g. postgres://automigrate@db.example.com:5432/automigrate";
  if (!u.username) return "names no database user, e.g. postgres://automigrate@db.example.com:5432/automigrate";
  const db = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (!db || db.includes("/")) return "names no database, e.g. postgres://automigrate@db.example.com:5432/automigrate";
  for (const k of u.searchParams.keys()) if (/pass/i.test(k)) return `holds a password parameter (${k}): use storage.passwordFile instead`;
  return undefined;
}

/** The URL as shown to admins and in logs: user, host, port and database (it never holds a password). */
export function describeDatabase(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.username}@${u.host}${u.pathname}`;
}
