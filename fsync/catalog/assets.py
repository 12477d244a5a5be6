"""The catalog's only style sheet and script, inlined into every page (no external assets, works from file://)."""

CSS = """
:root { --fg:#1d2330; --muted:#5b6474; --line:#dde2ea; --bg:#f6f7f9; --card:#fff; --accent:#2a5bd7;
  --view:#e8efff; --src:#eef7ee; --up:#f3f4f6; --train:#fff4e0; --exp:#fbeaf4; --warn:#a15c00; --bad:#b42318;
  --ok:#067647; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
  color:var(--fg); background:var(--bg); }
header.top { background:#1d2330; color:#fff; padding:14px 28px; display:flex; align-items:baseline;
  gap:18px; }
header.top a { color:#fff; text-decoration:none; font-weight:600; font-size:17px; }
header.top .sub { color:#aab3c2; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:22px 28px 60px; }
h1 { font-size:24px; margin:4px 0 6px; } h2 { font-size:17px; margin:28px 0 10px; }
a { color:var(--accent); }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px 18px; }
.muted { color:var(--muted); }
.desc { margin:6px 0 14px; max-width:900px; }
table { border-collapse:collapse; width:100%; background:var(--card); border:1px solid var(--line);
  border-radius:8px; overflow:hidden; }
th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef1f5; font-weight:600; font-size:12.5px; text-transform:uppercase; letter-spacing:.03em;
  color:#3b4352; }
tr:last-child td { border-bottom:none; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
code, pre { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
pre { background:#0f1420; color:#e6e9ef; padding:14px; border-radius:8px; overflow:auto; max-height:480px; }
.tag { display:inline-block; background:#eef1f5; border:1px solid var(--line); border-radius:10px;
  padding:0 8px; font-size:12px; margin:0 4px 2px 0; }
.badge { display:inline-block; border-radius:4px; padding:0 6px; font-size:12px; font-weight:600; }
.badge.latest { background:#e3f5ea; color:var(--ok); }
.badge.deprecated { background:#fdecea; color:var(--bad); }
.badge.stale { background:#fde2e1; color:#a4161a; } .badge.warn { background:#fff1dc; color:var(--warn); }
.badge.fresh { background:#e3f5ea; color:var(--ok); }
.badge.offline { background:#eef1f5; color:var(--muted); }
.facts { display:grid; grid-template-columns:repeat(auto-fill,minmax(215px,1fr)); gap:10px; margin:14px 0; }
.fact { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:9px 12px; }
.fact.owner { grid-column:span 2; }
.fact .k { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.03em; }
.fact .v { font-size:14px; font-weight:600; overflow-wrap:anywhere; }
.notice { background:#fff8eb; border:1px solid #f5d9a8; color:#6b4200; border-radius:8px; padding:9px 12px;
  margin:10px 0; }
.search { width:100%; font-size:16px; padding:10px 14px; border:1px solid #c4cbd6; border-radius:8px;
  margin:6px 0 4px; }
.search:focus { outline:2px solid var(--accent); border-color:transparent; }
#no-results { display:none; padding:12px; }
.lineage-wrap { overflow-x:auto; background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:6px; }
svg.lineage text { font:12.5px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; fill:#1d2330; }
svg.lineage { max-width:100%; height:auto; display:block; margin:0 auto; }
svg.lineage text.small { font-size:11px; }
svg.lineage text.heading { font-weight:600; fill:var(--muted); font-size:12px; }
svg.lineage .node rect { fill:var(--up); stroke:#b8c0cc; stroke-width:1; }
svg.lineage .node.source rect { fill:var(--src); stroke:#8cc08c; }
svg.lineage .node.view rect { fill:var(--view); stroke:var(--accent); stroke-width:2; }
svg.lineage .node.other-view rect { fill:var(--view); stroke:#8fa9e8; }
svg.lineage .node.training rect { fill:var(--train); stroke:#e0b25c; }
svg.lineage .node.exposure rect { fill:var(--exp); stroke:#d68ab8; }
svg.lineage .node.view text { font-weight:700; }
svg.lineage a .node rect { cursor:pointer; } svg.lineage a:hover .node rect { stroke-width:2; }
svg.lineage .edge { fill:none; stroke:#8a94a6; stroke-width:1.3; }
svg.lineage .arrowhead { fill:#8a94a6; }
details { margin:8px 0; } summary { cursor:pointer; font-weight:600; }
.role { font-size:12px; color:var(--muted); }
footer { color:var(--muted); font-size:12px; margin-top:40px; }
"""

# Filters every element with data-search (lowercased text): each whitespace-separated term must occur.
JS = """
(function () {
  var box = document.getElementById('search');
  if (!box) return;
  function apply() {
    var terms = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    document.querySelectorAll('[data-search]').forEach(function (el) {
      var text = el.getAttribute('data-search');
      var hit = terms.every(function (t) { return text.indexOf(t) !== -1; });
      el.hidden = !hit;
      if (hit) shown++;
    });
    document.querySelectorAll('[data-count-for]').forEach(function (el) {
      var sel = '#' + el.getAttribute('data-count-for') + ' [data-search]';
      var all = document.querySelectorAll(sel).length;
      var vis = document.querySelectorAll(sel + ':not([hidden])').length;
      el.textContent = terms.length ? vis + ' of ' + all : String(all);
    });
    document.getElementById('no-results').style.display = shown ? 'none' : 'block';
    try {  // keep the query in the URL so Back returns to the same list (may be refused on file://)
      history.replaceState(null, '', box.value ? '#q=' + encodeURIComponent(box.value) : location.pathname);
    } catch (e) { /* ignore */ }
  }
  box.addEventListener('input', apply);
  var m = /#q=([^&]*)/.exec(location.hash);
  if (m) box.value = decodeURIComponent(m[1]);
  apply();
})();
"""
