// The Dovecot fixture lives in lab/ (the demo uses it too).
export * from "../../lab/dovecot.ts";
