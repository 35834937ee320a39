// The Dovecot launcher is the product's own (tui/servers: the demo starts its servers with it).
export * from "../../tui/servers/dovecot.ts";
