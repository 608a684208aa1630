/** The stylesheet of the HTML export: inline, no external fonts or images, readable on screen and on paper. */
export const HTML_STYLE = `
:root { color-scheme: light; --ink: #1f2328; --muted: #656d76; --rule: #d0d7de; --paper: #fff; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--ink); font: 16px/1.6 Georgia, "Times New Roman", serif; }
.page { max-width: 1180px; margin: 0 auto; padding: 32px 24px 64px; background: var(--paper); }
.doc-header { border-bottom: 1px solid var(--rule); margin-bottom: 24px; padding-bottom: 12px; }
.doc-header h1 { font-size: 1.9em; line-height: 1.25; margin: 0 0 6px; }
.byline, .summary { color: var(--muted); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2px 0; }
.legend { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
main { padding-right: 412px; }
.row > .threads { float: right; clear: right; width: 380px; margin-right: -412px; }
.text { min-width: 0; }
.text > * { margin: 0 0 1em; }
.text h1, .text h2, .text h3, .text h4, .text h5, .text h6 { line-height: 1.3; margin-top: .6em; }
.text blockquote { border-left: 3px solid var(--rule); padding-left: 14px; color: #3d444d; font-style: italic; }
.text pre { background: #f6f8fa; padding: 10px 12px; overflow-x: auto; font-size: 14px; white-space: pre-wrap; }
.text .li { display: flex; gap: .5em; margin: 0 0 .35em; padding-left: calc(var(--depth, 0) * 1.6em); }
.text .li:last-child { margin-bottom: 1em; }
.text .li .marker { flex: none; min-width: 1.2em; text-align: right; color: var(--muted); }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
mark.hl { background: var(--hl); color: inherit; border-radius: 2px; padding: 0 1px; box-decoration-break: clone; -webkit-box-decoration-break: clone; }
mark.hl.overlap { box-shadow: inset 0 -2px 0 rgba(0, 0, 0, .35); }
mark.hl.resolved { background: transparent; border-bottom: 2px dotted var(--hl-line); }
sup.ref { font: 600 11px/1 system-ui, sans-serif; margin-left: 1px; }
sup.ref a { color: #0b57d0; text-decoration: none; }
.threads { font: 13.5px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
.thread { border: 1px solid var(--rule); border-left: 4px solid var(--tag); border-radius: 6px; padding: 8px 10px; margin: 0 0 12px; background: #fff; break-inside: avoid; }
.thread.resolved { opacity: .78; }
.thread-head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-bottom: 4px; }
.num { font-weight: 700; color: #0b57d0; text-decoration: none; }
.status { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; padding: 1px 6px; border-radius: 9px; background: #ddf4e4; color: #1a7f37; }
.status.resolved { background: #eaeef2; color: var(--muted); }
.state { font-size: 11px; color: #9a6700; }
.tag { display: inline-block; font: 12px/1.5 system-ui, sans-serif; padding: 0 7px; border-radius: 9px; background: var(--tag-bg); border: 1px solid var(--tag); }
.passage { margin: 4px 0 6px; padding-left: 8px; border-left: 2px solid var(--rule); color: var(--muted); font-style: italic; }
.comment { padding: 6px 0 0; border-top: 1px dashed #eaeef2; margin-top: 6px; }
.comment:first-of-type { border-top: 0; margin-top: 0; }
.comment .who { font-weight: 600; }
.comment time { color: var(--muted); font-size: 12px; margin-left: 6px; }
.comment .body { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: 2px; }
.orphans { clear: both; margin-right: -412px; border-top: 1px solid var(--rule); margin-top: 24px; padding-top: 12px; }
.orphans h2 { font-size: 1.1em; }
.orphans .threads { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
@media (max-width: 860px) {
  main { padding-right: 0; }
  .orphans { margin-right: 0; }
  .row { display: flex; flex-direction: column; }
  .row > .threads { order: 1; float: none; width: auto; margin: 0 0 20px 12px; }
}
@media print {
  body { background: #fff; font-size: 11pt; }
  .page { max-width: none; padding: 0; }
  main { padding-right: 0; }
  .orphans { margin-right: 0; }
  .row { display: flex; flex-direction: column; }
  .row > .threads { order: 1; float: none; width: auto; margin: 0 0 14pt 18pt; font-size: 9pt; }
  mark.hl { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  sup.ref a, .num { color: var(--ink); }
}
`;
