/**
 * The report's inline style and script. Both are fixed text written here, never
 * built from run data, so they are safe to put into the page as they are.
 */

/** Verdict colours, one place: table chips, timeline bars and the legend all use these classes. */
const VERDICT_COLOURS: Record<string, string> = {
  pass: '#2e7d32',
  warn: '#f9a825',
  fail: '#c62828',
  hung: '#6a1b9a',
  'no-boot': '#8d6e63',
  'wrong-kernel': '#ef6c00',
  'build-failed': '#424242',
  'infra-error': '#546e7a',
  built: '#90a4ae',
  none: '#b0bec5',
};

export const PAGE_CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#212121;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th[data-col]{cursor:pointer;user-select:none;background:#f5f5f5}th[data-col]:hover{background:#e0e0e0}
th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.title,span.title{font-family:ui-monospace,monospace;font-size:12px}
.chip{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}
.filters{margin:.5em 0}.filters label{margin-right:1em}#shown{color:#666}
svg.timeline{border:1px solid #ddd;background:#fafafa;max-width:1200px}
.lane-bg{fill:#fff}.lane text{font-size:11px;fill:#333}.lane text.note{font-size:9px;fill:#777}.tick{stroke:#e0e0e0}.tick-label{font-size:10px;fill:#777;text-anchor:middle}
.bar{stroke:#fff;stroke-width:.5}.bar.build{fill:#1e88e5}.bar.lost{fill:#9e9e9e;opacity:.7;stroke:#c62828;stroke-dasharray:3 2;stroke-width:1}
.legend span{margin-right:1em;font-size:12px}
details.instance{border:1px solid #e0e0e0;border-radius:4px;margin:4px 0;padding:2px 8px}details.instance[open]{background:#fcfcfc}
details.instance:target{outline:2px solid #1e88e5}
table.quoted code{white-space:pre-wrap;word-break:break-all;font-size:12px}td.ln{color:#777;text-align:right;font-family:ui-monospace,monospace;font-size:12px}
svg.gp{border:1px solid #eee;background:#fff}svg.gp path{fill:none;stroke:#1e88e5;stroke-width:1.5}svg.gp text{font-size:10px;fill:#555}
table.facts th{background:#f5f5f5;width:12em}table.facts code{white-space:pre-wrap;word-break:break-all}
${Object.entries(VERDICT_COLOURS)
  .map(([k, c]) => `.chip.v-${k}{background:${c}}.bar.v-${k}{fill:${c}}`)
  .join('\n')}
`;

/**
 * Sorting by column (numbers by their data-v value), filtering by text and verdict,
 * and opening a closed instance section when a link or the address points at it.
 */
export const PAGE_SCRIPT = `
(function(){
var table=document.getElementById('verdict-table');var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
var filter=document.getElementById('filter');var kind=document.getElementById('verdict-filter');var shown=document.getElementById('shown');
function key(row,col){var c=row.cells[col];var v=c.getAttribute('data-v');if(v===null)v=c.textContent;var n=Number(v);return v!==''&&!isNaN(n)?n:v.toLowerCase();}
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th){th.addEventListener('click',function(){
 var col=Number(th.getAttribute('data-col'));var asc=!th.classList.contains('asc');
 Array.prototype.forEach.call(table.tHead.rows[0].cells,function(o){o.classList.remove('asc','desc');});th.classList.add(asc?'asc':'desc');
 rows.sort(function(a,b){var x=key(a,col),y=key(b,col);return (x<y?-1:x>y?1:0)*(asc?1:-1);});
 var f=document.createDocumentFragment();rows.forEach(function(r){f.appendChild(r);});body.appendChild(f);});});
function apply(){var q=filter.value.toLowerCase();var k=kind.value;var n=0;
 rows.forEach(function(r){var ok=(!k||r.getAttribute('data-verdict')===k)&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);r.hidden=!ok;if(ok)n++;});
 shown.textContent=n+' of '+rows.length+' shown';}
filter.addEventListener('input',apply);kind.addEventListener('change',apply);apply();
function openTarget(){var id=decodeURIComponent(location.hash.slice(1));var el=id&&document.getElementById(id);if(el&&el.tagName==='DETAILS'){el.open=true;}}
window.addEventListener('hashchange',openTarget);openTarget();
})();
`;
