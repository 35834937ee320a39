// Seeding and reading mailboxes: shared with the benchmarks (bench/support/mail.ts).
export * from "../../bench/support/mail.ts";
