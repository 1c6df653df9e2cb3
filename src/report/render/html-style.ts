/** The HTML report's stylesheet (inlined into the page: nothing is fetched at view time). */
export const REPORT_CSS = `
:root {
  --ink: #1f2733; --muted: #5b6676; --faint: #8a94a6; --line: #e3e7ed; --bg: #f5f7fa; --card: #ffffff;
  --accent: #2f6db5; --best: #e6f4ea; --best-ink: #11643a; --ref: #f8f9fb;
  --font: Inter, "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
  --mono: "JetBrains Mono", "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.5 var(--font); }
.wrap { max-width: 1320px; margin: 0 auto; padding: 0 28px; }
code { font-family: var(--mono); font-size: 0.9em; background: #eef1f5; padding: 1px 5px; border-radius: 4px; }
.hero { background: linear-gradient(135deg, #15243b 0%, #1f3a5f 55%, #27507f 100%); color: #fff; padding: 34px 0 0; }
.hero .eyebrow { margin: 0; letter-spacing: .08em; text-transform: uppercase; font-size: 12px; color: #a9c1df; font-weight: 600; }
.hero h1 { margin: 6px 0 6px; font-size: 30px; font-weight: 700; letter-spacing: -.01em; }
.hero .sub { margin: 0 0 20px; color: #d5e1ef; }
.hero .sub code { background: rgba(255,255,255,.12); color: #fff; }
.hero nav { display: flex; gap: 4px; flex-wrap: wrap; }
.hero nav a { color: #d5e1ef; text-decoration: none; padding: 8px 14px; border-radius: 8px 8px 0 0; font-weight: 500; }
.hero nav a:hover { background: rgba(255,255,255,.1); color: #fff; }
main { padding-top: 8px; }
h2 { font-size: 21px; margin: 30px 0 4px; letter-spacing: -.01em; }
.lede { margin: 0 0 14px; color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; box-shadow: 0 1px 2px rgba(16,24,40,.05); }
.highlights { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr)); gap: 12px; margin-bottom: 14px; }
.highlight { background: var(--card); border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 10px; padding: 12px 16px; }
.highlight.ref { border-left-color: #c99700; }
.hl-label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; font-weight: 600; }
.hl-value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; margin: 2px 0; }
.hl-model { color: var(--muted); font-size: 13px; }
.hl-note { color: var(--muted); font-size: 11px; margin-top: 4px; }
.table-card { padding: 4px 0 0; overflow: hidden; }
.table-scroll { overflow-x: auto; }
table.leaderboard { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
.leaderboard th, .leaderboard td { padding: 7px 9px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; vertical-align: middle; }
.leaderboard thead th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: none; background: #fbfcfd; border-bottom: 2px solid var(--line); position: sticky; top: 0; }
.leaderboard .num { text-align: right; }
.leaderboard .dir { color: var(--faint); font-weight: 500; }
.leaderboard th.model { font-weight: 600; color: var(--ink); }
.leaderboard tbody th.model { font-size: 13.5px; }
.leaderboard tr.ref { background: var(--ref); }
.leaderboard tr.first-unlearned > * { border-top: 2px solid #cfd6e0; }
.leaderboard tbody tr:hover { background: #f0f5fc; }
.leaderboard td.best { background: var(--best); color: var(--best-ink); font-weight: 700; }
.leaderboard .ci { color: var(--faint); font-size: 12px; font-weight: 400; }
.leaderboard td.best .ci { color: #4f8a67; }
.leaderboard .missing { color: #b7bfcb; }
.leaderboard td.hp { font-family: var(--mono); font-size: 11.5px; color: var(--muted); white-space: normal; min-width: 150px; max-width: 210px; line-height: 1.35; }
.leaderboard td.seeds { color: var(--muted); }
.badge { display: inline-block; font-size: 10.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; padding: 1px 7px; border-radius: 999px; margin-left: 6px; vertical-align: 1px; }
.badge.base { background: #eceff3; color: #5b6676; }
.badge.target { background: #fbe3e6; color: #a10e26; }
.badge.gold { background: #fbf1d2; color: #8a6800; }
.table-note { margin: 0; padding: 10px 14px 12px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line); background: #fbfcfd; }
.chart-row { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 7fr); gap: 14px; margin-top: 14px; }
@media (max-width: 1100px) { .chart-row { grid-template-columns: minmax(0, 1fr); } }
figure.chart { margin: 0; padding: 14px 14px 10px; overflow-x: auto; }
figure.chart svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figure.chart figcaption { color: var(--muted); font-size: 12.5px; margin-top: 8px; line-height: 1.45; }
figure.chart figcaption b { color: var(--ink); }
.training figure.chart { margin-top: 10px; }
.empty { color: var(--faint); font-style: italic; margin: 24px 0; text-align: center; }
.pending { background: #fff8e6; border: 1px solid #f3dfa5; color: #7a5b00; border-radius: 8px; padding: 8px 14px; margin: 16px 0 0; }
.metrics dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px 20px; margin: 10px 0 0; }
.metrics dt { font-weight: 600; }
.metrics dd { margin: 0; color: var(--muted); }
footer { color: var(--faint); font-size: 12.5px; padding-top: 26px; padding-bottom: 40px; }
`.trim();
