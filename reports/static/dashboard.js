// Leadership dashboard: reads the JSON payload embedded in the page and draws tiles, charts and
// tables for the month and client chosen in the filters. No server: everything is in the page.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var monthSel = document.getElementById("f-month");
  var clientSel = document.getElementById("f-client");
  var names = {};
  // Clients are keyed by id; the label is the name, with the id where two clients share a name.
  data.clients.forEach(function (c) { names[c.id] = c.label; });
  // A category axis of client ids, labelled with the clients' labels.
  function clientAxis(ids) {
    return { type: "category", tickvals: ids, ticktext: ids.map(function (c) { return names[c]; }), automargin: true };
  }
  var PRIORITIES = [["emergency", "#e45756"], ["high", "#f58518"], ["normal", "#4c78a8"], ["low", "#72b7b2"]];
  var STATUS = { within: "#54a24b", watch: "#eeca3b", over: "#e45756" };
  var CATEGORY_COLOURS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b",
                          "#b279a2", "#ff9da6", "#9d755d", "#bab0ac", "#2f4b7c"];
  var LAYOUT = { height: 340, margin: { l: 60, r: 20, t: 40, b: 50 },
                 font: { family: "system-ui, -apple-system, Segoe UI, sans-serif", size: 12 },
                 legend: { orientation: "h", y: -0.18 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff" };
  var CONFIG = { displaylogo: false, responsive: true };

  function option(value, label) {
    var o = document.createElement("option");
    o.value = value; o.textContent = label; return o;
  }
  data.months.slice().reverse().forEach(function (m) { monthSel.appendChild(option(m, m)); });
  clientSel.appendChild(option("", "All clients"));
  data.clients.forEach(function (c) { clientSel.appendChild(option(c.id, c.label)); });

  // Filters live in the address (#month=2026-10&client=C001) so a view can be shared or bookmarked.
  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    monthSel.value = data.months.indexOf(params.get("month")) >= 0 ? params.get("month") : data.month;
    clientSel.value = names[params.get("client")] ? params.get("client") : "";
  }

  function windowTo(month) {
    var i = data.months.indexOf(month);
    return data.months.slice(Math.max(0, i - 11), i + 1);
  }
  function previous(month) {
    var i = data.months.indexOf(month);
    return i > 0 ? data.months[i - 1] : null;
  }
  function pick(rows, months, client) {
    return rows.filter(function (r) {
      return (!months || months.indexOf(r.m) >= 0) && (!client || r.c === client);
    });
  }
  function sum(rows, key) { return rows.reduce(function (a, r) { return a + (r[key] || 0); }, 0); }
  function ratio(a, b) { return b ? a / b : null; }
  function int(v) { return v === null ? "–" : Math.round(v).toLocaleString("en"); }
  function pct(v) { return v === null ? "–" : Math.round(v * 100) + "%"; }
  function money(v, cur) { return (cur || data.currency) + " " + Math.round(v).toLocaleString("en"); }
  // Amounts in two currencies are never added: one sum per currency ("USD 1,200 · EUR 300").
  function currencies(rows) {
    var seen = [];
    rows.forEach(function (r) { var c = r.cur || data.currency; if (seen.indexOf(c) < 0) { seen.push(c); } });
    return seen.sort();
  }
  function moneyBy(rows, key) {
    var curs = currencies(rows);
    if (!curs.length) { return money(0); }
    return curs.map(function (c) {
      return money(sum(rows.filter(function (r) { return (r.cur || data.currency) === c; }), key), c);
    }).join(" · ");
  }

  function change(current, before, kind, better) {
    if (before === null || current === null) { return ["no previous month", "flat"]; }
    var delta = current - before;
    var text = kind === "pct" ? (delta * 100).toFixed(1) + " pts" :
      kind === "money" ? money(Math.abs(delta)) : int(Math.abs(delta));
    if (kind === "pct") { text = (delta >= 0 ? "+" : "") + text; }
    else { text = (delta >= 0 ? "+" : "−") + text; }
    var cls = delta === 0 || !better ? "flat" : (delta > 0) === (better === "up") ? "good" : "bad";
    return [text + " vs previous month", cls];
  }

  function tile(label, value, note, delta) {
    var div = document.createElement("div");
    div.className = "tile";
    [["label", label], ["value", value], ["note", note]].forEach(function (p) {
      var e = document.createElement("div"); e.className = p[0]; e.textContent = p[1]; div.appendChild(e);
    });
    if (delta) {
      var c = document.createElement("div"); c.className = "change " + delta[1]; c.textContent = delta[0];
      div.appendChild(c);
    }
    return div;
  }

  function drawTiles(month, client) {
    var now = pick(data.client_months, [month], client);
    var prev = previous(month) ? pick(data.client_months, [previous(month)], client) : null;
    var val = function (rows, f) { return rows && rows.length ? f(rows) : null; };
    var sla = function (rows) { return ratio(sum(rows, "sla_met"), sum(rows, "sla_n")); };
    var tickets = function (rows) { return sum(rows, "tickets"); };
    var units = function (rows) { return sum(rows, "units"); };
    // Only approved out-of-scope work is revenue; pending lines are not reviewed yet.
    var oos = function (rows) { return sum(rows, "oos_approved"); };
    var declared = sum(now, "em_declared"), declaredConfirmed = sum(now, "em_declared_confirmed");
    var quarantined = sum(pick(data.quarantine, [month], client), "rows");
    var rejected = data.files.filter(function (f) { return f.status === "rejected"; });
    var box = document.getElementById("tiles");
    box.replaceChildren();
    var fairUse;
    if (client && now.length) {
      fairUse = tile("Fair use", now[0].ups.toFixed(2) + " per seat",
                     "limit " + now[0].lim.toFixed(2) + " · " + now[0].status + " · ratio " + now[0].ratio.toFixed(2));
    } else {
      var over = now.filter(function (r) { return r.status === "over"; }).length;
      var watch = now.filter(function (r) { return r.status === "watch"; }).length;
      fairUse = tile("Over fair use", over + " of " + now.length, watch + " more to watch");
    }
    box.append(
      tile(client ? "Client" : "Clients", client ? names[client] : String(now.length), "month " + month),
      tile("Tickets", int(val(now, tickets)), int(val(now, units)) + " standard units",
           change(val(now, tickets), val(prev, tickets), "int", null)),
      fairUse,
      tile("Response-time SLA", pct(val(now, sla)),
           int(sum(now, "sla_met")) + " of " + int(sum(now, "sla_n")) + " answered in time",
           change(val(now, sla), val(prev, sla), "pct", "up")),
      tile("Emergencies declared / confirmed", declared + " / " + sum(now, "em_confirmed"),
           declared ? pct((declared - declaredConfirmed) / declared) + " of declarations not confirmed"
                    : "none declared"),
      tile("Out-of-scope approved", moneyBy(now, "oos_approved"),
           "pending review " + moneyBy(now, "oos_pending") + " (" + int(sum(now, "oos_pending_n")) + " lines) · rejected "
           + int(sum(now, "oos_rejected_n")) + " tickets",
           currencies(now.concat(prev || [])).length > 1 ? ["per currency, no change shown", "flat"]
             : change(val(now, oos), val(prev, oos), "money", null)),
      tile("Rows held back (data health)", int(quarantined),
           rejected.length + " file(s) rejected whole · " + data.files.reduce(function (a, f) { return a + f.files; }, 0) + " delivered")
    );
  }

  function lowest(traces) {
    var ys = [].concat.apply([], traces.map(function (t) { return t.y; }))
      .filter(function (v) { return v !== null; });
    return ys.length ? Math.min.apply(null, ys) : 0;
  }

  function drawSla(month, client) {
    var months = windowTo(month);
    var rows = pick(data.sla, months, client);
    var traces = PRIORITIES.map(function (p) {
      var y = months.map(function (m) {
        var r = rows.filter(function (x) { return x.m === m && x.p === p[0]; });
        return ratio(sum(r, "met"), sum(r, "n"));
      });
      return { x: months, y: y, name: p[0], mode: "lines+markers", line: { color: p[1], width: 1.5 } };
    });
    traces.push({ x: months, name: "all priorities", mode: "lines+markers", line: { color: "#1f2933", width: 3 },
                  y: months.map(function (m) {
                    var r = rows.filter(function (x) { return x.m === m; });
                    return ratio(sum(r, "met"), sum(r, "n"));
                  }) });
    Plotly.react("chart-sla", traces, Object.assign({}, LAYOUT, {
      title: { text: "Response-time SLA compliance, " + (client ? names[client] : "all clients") },
      // From just below the lowest value to 100%, so that a few points of change are visible.
      yaxis: { tickformat: ".0%", range: [Math.max(0, lowest(traces) - 0.05), 1.02] },
      xaxis: { type: "category" } }), CONFIG);
  }

  function drawFairUse(month, client) {
    // Length and colour measure the same thing: the rolling ratio the status is judged on.
    var rows = pick(data.client_months, [month], null).sort(function (a, b) { return a.rratio - b.rratio; });
    Plotly.react("chart-fair-use", [{
      type: "bar", orientation: "h", y: rows.map(function (r) { return r.c; }),
      x: rows.map(function (r) { return r.rratio; }),
      customdata: rows.map(function (r) { return [r.ups, r.lim, r.status, names[r.c], r.ratio]; }),
      hovertemplate: "%{customdata[3]}: rolling %{x:.2f} of limit, %{customdata[2]} (this month %{customdata[4]:.2f}: %{customdata[0]:.2f} per seat, limit %{customdata[1]:.2f})<extra></extra>",
      marker: { color: rows.map(function (r) { return STATUS[r.status]; }),
                opacity: rows.map(function (r) { return !client || r.c === client ? 1 : 0.3; }) }
    }], Object.assign({}, LAYOUT, {
      title: { text: "Clients by rolling fair-use ratio, " + month + " (1.0 = plan limit; colour = status)" },
      height: Math.max(340, 22 * rows.length + 90), margin: { l: 170, r: 20, t: 40, b: 40 },
      yaxis: clientAxis(rows.map(function (r) { return r.c; })),
      shapes: [{ type: "line", x0: 1, x1: 1, yref: "paper", y0: 0, y1: 1, line: { dash: "dash", color: "#e45756" } }]
    }), CONFIG);
  }

  function drawEmergencies(month, client) {
    var months = windowTo(month);
    var byClient = {};
    pick(data.client_months, months, null).forEach(function (r) {
      var b = byClient[r.c] = byClient[r.c] || { c: r.c, declared: 0, confirmed: 0 };
      b.declared += r.em_declared; b.confirmed += r.em_declared_confirmed;
    });
    var rows = Object.keys(byClient).map(function (k) { return byClient[k]; })
      .filter(function (r) { return r.declared > 0; })
      .sort(function (a, b) { return (a.declared - a.confirmed) / a.declared - (b.declared - b.confirmed) / b.declared; });
    var y = rows.map(function (r) { return r.c; });
    var opacity = rows.map(function (r) { return !client || r.c === client ? 1 : 0.3; });
    Plotly.react("chart-emergencies", [
      { type: "bar", orientation: "h", name: "declared and confirmed", y: y, marker: { color: "#54a24b", opacity: opacity },
        x: rows.map(function (r) { return r.confirmed; }) },
      { type: "bar", orientation: "h", name: "declared, not confirmed", y: y, marker: { color: "#e45756", opacity: opacity },
        x: rows.map(function (r) { return r.declared - r.confirmed; }),
        text: rows.map(function (r) { return pct((r.declared - r.confirmed) / r.declared); }), textposition: "outside" }
    ], Object.assign({}, LAYOUT, {
      barmode: "stack", height: Math.max(340, 22 * rows.length + 110), margin: { l: 170, r: 40, t: 70, b: 40 },
      legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", traceorder: "normal" },
      yaxis: clientAxis(y),
      title: { text: "Emergency declarations by client, " + months[0] + " to " + month }
    }), CONFIG);
  }

  function drawOutOfScope(month, client) {
    var months = windowTo(month);
    var rows = pick(data.out_of_scope, months, client);
    var cms = pick(data.client_months, months, client);
    // Approved, pending and rejected side by side: only approved work is revenue.
    var states = [["approved", "approved (billed)", "#54a24b"], ["pending", "pending review (not billed)", "#eeca3b"]];
    var curs = currencies(rows);
    var traces = [];
    // One bar per review state and currency: amounts in two currencies are never stacked.
    (curs.length ? curs : [data.currency]).forEach(function (cur, i) {
      states.forEach(function (st) {
        traces.push({ type: "bar", name: st[1] + (curs.length > 1 ? ", " + cur : ""), x: months,
                      marker: { color: st[2], opacity: 1 - 0.3 * i },
                      y: months.map(function (m) { return sum(rows.filter(function (r) { return r.m === m && r.state === st[0] && (r.cur || data.currency) === cur; }), "amount"); }) });
      });
    });
    traces.push({ type: "scatter", mode: "markers", name: "rejected on review (tickets, right axis)", x: months, yaxis: "y2",
                  marker: { color: "#e45756", symbol: "x", size: 9 },
                  y: months.map(function (m) { return sum(cms.filter(function (r) { return r.m === m; }), "oos_rejected_n"); }) });
    Plotly.react("chart-out-of-scope", traces, Object.assign({}, LAYOUT, {
      barmode: "group", height: 380, xaxis: { type: "category" }, yaxis: { title: { text: (curs.length ? curs : [data.currency]).join(" / ") } },
      yaxis2: { overlaying: "y", side: "right", rangemode: "tozero", title: { text: "tickets rejected" }, showgrid: false },
      title: { text: "Out-of-scope work by review state, " + (client ? names[client] : "all clients") }
    }), CONFIG);
  }

  function drawQuality(month, client) {
    var months = windowTo(month);
    var rows = pick(data.quarantine, months, client);
    var general = data.quarantine.filter(function (r) { return r.m === null && (!client || r.c === client); });
    var reasons = rows.concat(general).map(function (r) { return r.reason; })
      .filter(function (v, i, a) { return a.indexOf(v) === i; }).sort();
    var x = months.concat(general.length ? ["no month"] : []);
    var traces = reasons.map(function (reason, i) {
      return { type: "bar", name: reason, x: x, marker: { color: CATEGORY_COLOURS[i % CATEGORY_COLOURS.length] },
               y: x.map(function (m) {
                 var src = m === "no month" ? general : rows.filter(function (r) { return r.m === m; });
                 return sum(src.filter(function (r) { return r.reason === reason; }), "rows");
               }) };
    });
    var empty = !traces.length;
    if (empty) {
      traces = [{ type: "bar", name: "rows held back", x: x, y: x.map(function () { return 0; }), marker: { color: "#54a24b" } }];
    }
    Plotly.react("chart-quality", traces, Object.assign({}, LAYOUT, {
      annotations: empty ? [{ text: "No rows held back in these months", xref: "paper", yref: "paper",
                              x: 0.5, y: 0.5, showarrow: false, font: { size: 14, color: "#2f855a" } }] : [],
      barmode: "stack", xaxis: { type: "category" }, yaxis: { title: { text: "rows" }, rangemode: "tozero" },
      title: { text: "Rows held back by validation, by reason" + (client ? ", " + names[client] : "") }
    }), CONFIG);
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td"); td.textContent = text; if (cls) { td.className = cls; } tr.appendChild(td); return td;
  }

  function drawClientTable(month, client) {
    var body = document.querySelector("#client-table tbody");
    body.replaceChildren();
    var rows = pick(data.client_months, [month], client).sort(function (a, b) { return b.ratio - a.ratio; });
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      var info = data.clients.filter(function (c) { return c.id === r.c; })[0];
      var name = cell(tr, "");
      if (info && info.report && month === data.month) {
        var a = document.createElement("a"); a.href = info.report; a.textContent = names[r.c]; name.appendChild(a);
      } else { name.textContent = names[r.c]; }
      cell(tr, (data.plan_names || {})[r.plan] || r.plan);
      cell(tr, int(r.tickets), "n"); cell(tr, int(r.units), "n"); cell(tr, r.ups.toFixed(2), "n"); cell(tr, r.lim.toFixed(2), "n");
      var s = document.createElement("span"); s.className = "status " + r.status; s.textContent = r.status; cell(tr, "").appendChild(s);
      cell(tr, pct(ratio(r.sla_met, r.sla_n)), "n");
      cell(tr, r.em_declared + " / " + r.em_confirmed, "n");
      cell(tr, money(r.oos_approved, r.cur) + " / " + money(r.oos_pending, r.cur), "n");
      body.appendChild(tr);
    });
    drawClientTotals(rows);
  }

  // The portfolio's line under the clients shown: counts add up, fair use is per client and so
  // has no total, SLA is met over all measured tickets, and money is summed per currency.
  function drawClientTotals(rows) {
    var foot = document.querySelector("#client-table tfoot");
    foot.replaceChildren();
    if (rows.length < 2) { return; }
    var tr = document.createElement("tr");
    cell(tr, "All " + rows.length + " clients"); cell(tr, "");
    cell(tr, int(sum(rows, "tickets")), "n"); cell(tr, int(sum(rows, "units")), "n");
    cell(tr, "", "n"); cell(tr, "", "n"); cell(tr, "");
    cell(tr, pct(ratio(sum(rows, "sla_met"), sum(rows, "sla_n"))), "n");
    cell(tr, sum(rows, "em_declared") + " / " + sum(rows, "em_confirmed"), "n");
    cell(tr, moneyBy(rows, "oos_approved") + " / " + moneyBy(rows, "oos_pending"), "n");
    foot.appendChild(tr);
  }

  function render() {
    var month = monthSel.value, client = clientSel.value || null;
    document.getElementById("view-label").textContent = (client ? names[client] : "All clients") + " · " + month;
    drawTiles(month, client);
    drawSla(month, client);
    drawFairUse(month, client);
    drawEmergencies(month, client);
    drawOutOfScope(month, client);
    drawQuality(month, client);
    drawClientTable(month, client);
    document.body.setAttribute("data-rendered", month + "|" + (client || ""));
  }

  function onFilter() {
    history.replaceState(null, "", "#month=" + monthSel.value + (clientSel.value ? "&client=" + encodeURIComponent(clientSel.value) : ""));
    render();
  }
  // Every table can be taken away as CSV (what it shows at the moment, with the filters applied).
  function csvCell(text) {
    var t = text.replace(/\s+/g, " ").trim();
    if (/^[=+\-@]/.test(t)) { t = "'" + t; }  // a spreadsheet must not read it as a formula
    return /[",\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
  }
  // The header and the rows; a table's total line (tfoot) is left out, so the file's rows are
  // all of one kind and a spreadsheet's own sums do not count the total twice.
  function tableCsv(table) {
    return [].map.call(table.querySelectorAll("thead tr, tbody tr"), function (tr) {
      return [].map.call(tr.querySelectorAll("th, td"), function (c) { return csvCell(c.textContent); }).join(",");
    }).join("\r\n") + "\r\n";
  }
  [].forEach.call(document.querySelectorAll("table"), function (table, i) {
    var a = document.createElement("a");
    a.className = "csv-download no-print";
    a.textContent = "Download CSV";
    a.href = "#";
    a.addEventListener("click", function (e) {
      e.preventDefault();
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([tableCsv(table)], { type: "text/csv" }));
      link.download = (table.id || "table-" + (i + 1)) + "-" + monthSel.value + ".csv";
      document.body.appendChild(link); link.click(); link.remove();
    });
    table.parentNode.insertBefore(a, table);
  });

  monthSel.addEventListener("change", onFilter);
  clientSel.addEventListener("change", onFilter);
  window.addEventListener("hashchange", function () { readHash(); render(); });
  readHash();
  render();
})();
