// A token command as an admin would write one for another identity provider: it prints an
// access token for the user named in its arguments, or says why not on stderr and exits 3.
//   usage: bun oauth-token-command.ts <mint-url> <user> [--json]
export {};

const [url, user, json] = process.argv.slice(2);
const res = await fetch(url!, { method: "POST", body: new URLSearchParams({ user: user ?? "" }) });
const answer = (await res.json()) as { access_token?: string; expires_in?: number; error_description?: string };
if (!res.ok || !answer.access_token) {
  process.stderr.write(`token command: ${answer.error_description ?? `HTTP ${res.status}`}\n`);
  process.exit(3);
}
process.stdout.write(json === "--json" ? `${JSON.stringify({ access_token: answer.access_token, expires_in: answer.expires_in })}\n` : `${answer.access_token}\n`);
