/**
 * The admin page's stylesheet, inlined (no external resources: the page works offline and on Lambda, and the
 * Content-Security-Policy allows exactly this text by its hash). Under 700px the entries table becomes cards.
 */
export const ADMIN_STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #f5f7fa; --card: #fff;
  --accent: #1f5fbf; --danger: #b3261e; --ok: #1b7a3d; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--fg); font-size: 15px; line-height: 1.45; }
main { max-width: 1200px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.5rem; margin: 0; }
h2 { font-size: 1.15rem; margin: 0 0 8px; }
h3 { font-size: 1rem; margin: 16px 0 6px; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
header { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; justify-content: space-between; margin-bottom: 12px; }
.toolbar, .actions, .pager, .filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.token-state { margin: 4px 0 0; color: var(--muted); font-size: .9rem; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
button { font: inherit; padding: 6px 12px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); cursor: pointer; min-height: 34px; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:focus-visible, input:focus-visible, select:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
button.link { border: 0; background: none; color: var(--accent); padding: 2px 4px; min-height: 0; text-decoration: underline; }
button.row-delete { color: var(--danger); padding: 3px 10px; min-height: 0; }
button.row-chart { color: var(--accent); padding: 3px 10px; min-height: 0; margin-right: 6px; }
td.row-actions { padding-top: 3px; padding-bottom: 3px; text-align: right; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); }
section, .cards > div { background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
section { padding: 14px 16px; margin-top: 14px; }
.notice { margin: 8px 0; padding: 8px 12px; border-radius: 6px; border: 1px solid var(--line); background: var(--card); }
.notice.error { border-color: var(--danger); color: var(--danger); background: #fdf1f0; }
.notice.ok { border-color: var(--ok); color: var(--ok); background: #eff8f2; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; margin: 0; }
.cards > div { padding: 12px 14px; }
.cards dt { color: var(--muted); font-size: .85rem; }
.cards dd { margin: 2px 0 0; font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.badge-active { color: var(--ok); }
.badge-empty { color: var(--muted); }
.muted { color: var(--muted); }
.metrics { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 12px 24px; }
.metrics h3 { margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; }
th button { border: 0; background: none; padding: 0; min-height: 0; font: inherit; color: inherit; font-weight: 600; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
th[aria-sort] button { color: var(--fg); }
td.symbol { font-weight: 600; word-break: break-all; }
td.nowrap { white-space: nowrap; }
tbody th { color: var(--fg); font-size: inherit; font-weight: 500; white-space: normal; }
.table-wrap { overflow-x: auto; }
.filters { margin: 4px 0 8px; }
.filters .filter { display: flex; gap: 6px; align-items: center; }
.pager { justify-content: flex-end; margin-top: 8px; }
#entries-count { margin: 0 0 6px; color: var(--muted); }
dialog { border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; max-width: min(460px, calc(100vw - 32px)); color: var(--fg); }
dialog::backdrop { background: rgba(20, 26, 38, .45); }
dialog form { display: flex; flex-direction: column; gap: 8px; }
dialog p { margin: 0 0 8px; }
dialog .actions { justify-content: flex-end; margin-top: 8px; }
.filters-bar { padding: 10px 16px; }
.filters-bar .filters { margin: 0; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: center; font-size: .85rem; color: var(--muted); margin: 4px 0 8px; }
.legend .cov { display: inline-block; margin-left: 6px; }
.coverage-wrap { overflow-x: auto; }
table.coverage { width: auto; border-collapse: separate; border-spacing: 2px 3px; }
table.coverage th, table.coverage td { border: 0; padding: 0; }
table.coverage th.series { position: sticky; left: 0; background: var(--card); padding: 0 10px 0 0; font-size: .85rem; font-weight: 500; color: var(--fg); white-space: nowrap; text-align: left; }
table.coverage thead th.year { font-size: .75rem; text-align: left; padding-left: 2px; border-left: 1px solid var(--line); }
table.coverage thead th.month { font-size: .6rem; font-weight: 400; text-align: center; width: 14px; }
.cov { display: block; width: 14px; height: 18px; border-radius: 3px; border: 0; padding: 0; min-height: 0; }
button.cov { cursor: pointer; }
button.cov:hover:not(:disabled) { outline: 2px solid var(--accent); outline-offset: 1px; }
.cov.held { background: var(--ok); }
.cov.partial { background: repeating-linear-gradient(135deg, #e3a008 0 3px, #f6dd9a 3px 6px); }
.cov.gap { background: #fbe4e2; box-shadow: inset 0 0 0 1px var(--danger); }
.cov.has-exchange-gaps { box-shadow: inset 0 -5px 0 #1d2330; }
.panel-head { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.chart { height: 420px; margin-top: 8px; }
.chart-gaps { font-size: .9rem; }
.chart-gaps ul { margin: 4px 0 0; padding-left: 20px; }
#chart-state[hidden] + .chart { margin-top: 0; }
@media (max-width: 900px) {
  .metrics { grid-template-columns: 1fr; }
}
@media (max-width: 700px) {
  main { padding: 10px; }
  header .toolbar { width: 100%; }
  #updated { order: 1; flex-basis: 100%; }
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .cards dd { font-size: 1.25rem; }
  section { padding: 12px; }
  .filters .filter { flex: 1 1 140px; }
  .metrics th, .metrics td { padding: 6px 4px; }
  .metrics thead th { white-space: normal; }
  .filters input, .filters select { flex: 1; min-width: 0; }
  #entries-table, #entries-table tbody, #entries-table tr, #entries-table td { display: block; }
  #entries-table thead tr { display: flex; flex-wrap: wrap; gap: 4px 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
  #entries-table thead tr::before { content: "Sort by"; flex-basis: 100%; color: var(--muted); font-size: .85rem; }
  #entries-table thead th { border: 0; padding: 0; }
  #entries-table thead th button { border: 1px solid var(--line); border-radius: 999px; padding: 3px 10px; background: var(--card); font-weight: 500; }
  #entries-table thead th[aria-sort] button { border-color: var(--accent); font-weight: 600; }
  #entries-table thead th.actions-col { display: none; }
  #entries-table tbody tr { border: 1px solid var(--line); border-radius: 8px; margin-top: 8px; padding: 6px 10px; }
  #entries-table td { border: 0; padding: 2px 0; display: grid; grid-template-columns: 6.5rem minmax(0, 1fr); gap: 8px; text-align: left; }
  #entries-table td::before { content: attr(data-label); color: var(--muted); font-size: .85rem; }
  #entries-table td.row-actions { display: block; padding-top: 6px; }
  #entries-table td.row-actions::before { content: none; }
  .pager { justify-content: space-between; }
  .chart { height: 320px; }
  table.coverage th.series { max-width: 9rem; white-space: normal; }
}
`;
