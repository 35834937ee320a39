// The report's three forms, written as the rows come (nothing but the totals is held):
//  - CSV per RFC 4180: a field holding a comma, a quote or a line break is quoted, quotes
//    doubled, CRLF line ends; the per-domain totals are not in it (one table, one header);
//  - JSON: one document {generatedAt, accounts: [...], domains: [...], overall};
//  - HTML: one self-contained file (no external assets: it works offline, from an email
//    attachment): the totals as bars, the progress per domain, and the accounts' table,
//    sortable by every column and filtered by state, readable at phone width. The summary is
//    written last (the totals are known only then) and shown first (CSS order).
// Pure: each writer is given where its text goes.
import { formatBytes } from "../migrate/report.ts";
import { NUMERIC_COLUMNS, REPORT_COLUMNS, REPORT_STATES, type DomainTotals, type ReportRow, type ReportTotals } from "./account-rows.ts";

export type Sink = (text: string) => void;

export interface ReportWriter {
  row(r: ReportRow): void;
  end(totals: ReportTotals): void;
}

export const REPORT_FORMATS = ["csv", "json", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportMeta {
  generatedAt: string;
  title: string;
}

/**
 * One CSV field (RFC 4180). A text that a spreadsheet would read as a formula (it starts with
 * =, +, -, @, a tab or a carriage return: a folder name or an error from the old server) gets a
 * leading apostrophe, so opening the report never runs it (OWASP's CSV injection advice).
 */
export function csvField(v: string | number): string {
  const s = typeof v === "string" && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvWriter(out: Sink): ReportWriter {
  out(`${REPORT_COLUMNS.join(",")}\r\n`);
  return {
    row: (r) => out(`${REPORT_COLUMNS.map((c) => csvField(r[c])).join(",")}\r\n`),
    end: () => {},
  };
}

function jsonWriter(out: Sink, meta: ReportMeta): ReportWriter {
  let first = true;
  out(`{"generatedAt":${JSON.stringify(meta.generatedAt)},"accounts":[`);
  return {
    row: (r) => {
      out(`${first ? "\n" : ",\n"}${JSON.stringify(r)}`);
      first = false;
    },
    end: (t) => out(`\n],"domains":${JSON.stringify(t.domains())},"overall":${JSON.stringify(t.overall())}}\n`),
  };
}

const esc = (s: string | number) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STATE_COLOURS: Record<string, string> = { done: "#2e7d32", partial: "#f9a825", failed: "#c62828", not_started: "#9e9e9e" };
const stateWords = (s: string) => s.replace("_", " ");

function bar(byState: Record<string, number>, total: number): string {
  const parts = REPORT_STATES.filter((s) => (byState[s] ?? 0) > 0).map((s) => `<span class="seg" style="width:${((byState[s]! / Math.max(1, total)) * 100).toFixed(2)}%;background:${STATE_COLOURS[s]}" title="${stateWords(s)}: ${byState[s]}"></span>`);
  return `<div class="bar" role="img" aria-label="${REPORT_STATES.map((s) => `${stateWords(s)} ${byState[s] ?? 0}`).join(", ")}">${parts.join("")}</div>`;
}

const TIME_COLUMNS: ReadonlySet<keyof ReportRow> = new Set(["firstRun", "lastRun", "verifiedAt"]);
/** Long texts wrap in a column of their own width; everything else stays on one line. */
const WRAPPING_COLUMNS: ReadonlySet<keyof ReportRow> = new Set(["skippedByCode", "renamedFolders", "lastError", "notices"]);

// At phone width each account is a card: one line per non-empty value, named by its column.
const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;display:flex;flex-direction:column;gap:8px;color:#222}
h1{font-size:20px;margin:0}h2{font-size:16px;margin:8px 0 4px}#summary{order:-1}
.bar{display:flex;height:14px;background:#eee;border-radius:3px;overflow:hidden;min-width:60px}.seg{display:block;height:100%}
.legend span{margin-right:12px;white-space:nowrap}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#f5f5f5}#accounts th{cursor:pointer;position:sticky;top:0}td.w{white-space:normal;min-width:16em;max-width:40em;overflow-wrap:anywhere}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.wrap{overflow-x:auto}#domains td.p{width:40%}
@media (max-width:600px){body{padding:6px;font-size:13px}td,th{padding:3px 4px}#domains td.p{width:auto}#domains .sz{display:none}
#accounts thead{display:none}#accounts tr{display:block;border-bottom:2px solid #bbb;padding:4px 0}
#accounts td{display:flex;gap:8px;border:0;padding:1px 4px;white-space:normal;min-width:0;max-width:none;overflow-wrap:anywhere}#accounts td.n{text-align:left}
#accounts td[data-v=""]{display:none}#accounts td::before{flex:0 0 9.5em;color:#666}
${REPORT_COLUMNS.map((c, i) => `#accounts td:nth-child(${i + 1})::before{content:"${c}"}`).join("")}}`;

// The table's sort (by the raw value in data-v: numbers as numbers) and its state filter.
const SCRIPT = `(function(){
var table=document.getElementById("accounts"),body=table.tBodies[0],heads=table.tHead.rows[0].cells,filter=document.getElementById("state"),shown=document.getElementById("shown");
function count(){var n=0;for(var i=0;i<body.rows.length;i++)if(!body.rows[i].hidden)n++;shown.textContent=n;}
filter.addEventListener("change",function(){var v=filter.value;for(var i=0;i<body.rows.length;i++){var r=body.rows[i];r.hidden=v!==""&&r.getAttribute("data-state")!==v;}count();});
function sortBy(c){var dir=heads[c].getAttribute("aria-sort")==="ascending"?-1:1,num=heads[c].classList.contains("n");
for(var k=0;k<heads.length;k++)heads[k].removeAttribute("aria-sort");heads[c].setAttribute("aria-sort",dir>0?"ascending":"descending");
var rows=Array.prototype.slice.call(body.rows),key=function(r){var v=r.cells[c].getAttribute("data-v");return num?Number(v):v;};
rows.sort(function(a,b){var x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*dir;});
var f=document.createDocumentFragment();for(var i=0;i<rows.length;i++)f.appendChild(rows[i]);body.appendChild(f);}
for(var c=0;c<heads.length;c++)(function(c){heads[c].addEventListener("click",function(){sortBy(c);});})(c);
count();})();`;

function htmlWriter(out: Sink, meta: ReportMeta): ReportWriter {
  const num = (c: keyof ReportRow) => (NUMERIC_COLUMNS.has(c) ? ' class="n"' : WRAPPING_COLUMNS.has(c) ? ' class="w"' : "");
  const shown = (r: ReportRow, c: keyof ReportRow) =>
    c === "bytesCopied" || c === "oldBytes" ? formatBytes(r[c]) : c === "state" ? stateWords(r.state) : TIME_COLUMNS.has(c) ? String(r[c]).slice(0, 16).replace("T", " ") : r[c];
  out(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(meta.title)}</title><style>${CSS}</style></head><body>
<section id="list"><h2>Accounts</h2><p><label>State <select id="state"><option value="">all</option>${REPORT_STATES.map((s) => `<option value="${s}">${stateWords(s)}</option>`).join("")}</select></label> <span id="shown">0</span> shown</p>
<div class="wrap"><table id="accounts"><thead><tr>${REPORT_COLUMNS.map((c) => `<th data-col="${c}"${num(c)}>${esc(c)}</th>`).join("")}</tr></thead><tbody>\n`);
  return {
    row: (r) => out(`<tr data-state="${esc(r.state)}">${REPORT_COLUMNS.map((c) => `<td data-v="${esc(r[c])}"${num(c)}>${esc(shown(r, c))}</td>`).join("")}</tr>\n`),
    end: (t) => {
      const o = t.overall();
      const domainRow = (d: DomainTotals) =>
        `<tr data-domain="${esc(d.domain)}"><td>${esc(d.domain)}</td><td class="p">${bar(d.byState, d.accounts)}</td><td class="n" data-k="done">${d.byState.done}</td><td class="n" data-k="accounts">${d.accounts}</td><td class="n" data-k="messagesCopied">${d.messagesCopied}</td><td class="n sz" data-k="bytesCopied" data-v="${d.bytesCopied}">${esc(formatBytes(d.bytesCopied))}</td></tr>`;
      const pace =
        o.etaDays === 0 ? "every account is done" : o.etaDays === null ? `no estimate yet (no account finished in the last ${o.windowDays} days)` : `the rest in about <b data-k="etaDays">${o.etaDays}</b> days at that pace`;
      out(`</tbody></table></div></section>
<section id="summary"><h1>${esc(meta.title)}</h1><p>Generated ${esc(meta.generatedAt)}</p>
<div id="overall">${bar(o.byState, o.accounts)}<p class="legend">${REPORT_STATES.map((s) => `<span><i style="background:${STATE_COLOURS[s]}"></i>${stateWords(s)}</span>`).join("")}</p>
<p><b data-k="accounts">${o.accounts}</b> accounts: ${REPORT_STATES.map((s) => `<b data-k="${s}">${o.byState[s]}</b> ${stateWords(s)}`).join(", ")}.</p>
<p><b data-k="messagesCopied">${o.messagesCopied}</b> messages (<span data-k="bytesCopied" data-v="${o.bytesCopied}">${esc(formatBytes(o.bytesCopied))}</span>) copied of <b data-k="oldMessages">${o.oldMessages}</b> (<span data-k="oldBytes" data-v="${o.oldBytes}">${esc(formatBytes(o.oldBytes))}</span>) on the old servers; <b data-k="messagesSkipped">${o.messagesSkipped}</b> skipped.</p>
<p>Pace: <b data-k="donePerDay">${o.donePerDay}</b> accounts done a day over the last ${o.windowDays} days; ${pace}.</p></div>
<h2>Per domain</h2><div class="wrap"><table id="domains"><thead><tr><th>domain</th><th>progress</th><th class="n">done</th><th class="n">accounts</th><th class="n">messages</th><th class="n sz">size</th></tr></thead><tbody>${t.domains().map(domainRow).join("")}</tbody></table></div></section>
<script>${SCRIPT}</script></body></html>\n`);
    },
  };
}

export function reportWriter(format: ReportFormat, out: Sink, meta: ReportMeta): ReportWriter {
  return format === "csv" ? csvWriter(out) : format === "json" ? jsonWriter(out, meta) : htmlWriter(out, meta);
}
