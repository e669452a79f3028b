// Draws the dashboard's charts from the JSON the page embeds; the page already shows every number as a
// table, so without this script (or without Chart.js) nothing is lost but the pictures.
(function () {
  "use strict";

  function share(part, whole) {
    if (part === null || whole === null || !whole) return null;
    return Math.round((1000 * part) / whole) / 10;
  }

  // Horizontal bars need room per row; Chart.js sizes to its container (styles set from script are
  // allowed by the content security policy, inline style attributes are not).
  function sizeFor(canvas, rows, perRow) {
    var box = canvas.parentElement;
    box.style.position = "relative";
    box.style.maxWidth = "60em";
    box.style.height = Math.max(160, rows * perRow + 70) + "px";
  }

  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var w = data.words;
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

    var coverage = document.getElementById("chart-coverage");
    if (coverage) {
      var c = data.coverage;
      var shares = function (key) {
        return c[key].map(function (n, i) { return share(n, c.residents[i]); });
      };
      sizeFor(coverage, c.labels.length, 3 * 9);
      new Chart(coverage, {
        type: "bar",
        data: {
          labels: c.labels,
          datasets: [
            { label: w.at_least_one_dose, data: shares("at_least_one_dose"), backgroundColor: "#0b5cad" },
            { label: w.primary_complete, data: shares("primary_complete"), backgroundColor: "#1a7f37" },
            { label: w.booster, data: shares("booster"), backgroundColor: "#d4a72c" }
          ]
        },
        options: {
          indexAxis: "y",
          scales: { x: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } },
          plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + ctx.parsed.x + "%"; } } } }
        }
      });
    }

    var doses = document.getElementById("chart-doses");
    if (doses) {
      var d = data.doses;
      doses.parentElement.style.position = "relative";
      doses.parentElement.style.maxWidth = "60em";
      doses.parentElement.style.height = "280px";
      new Chart(doses, {
        type: "line",
        data: {
          labels: d.days,
          datasets: [
            { label: w.records, data: d.records, borderColor: "#0b5cad", backgroundColor: "#0b5cad", pointRadius: 0, borderWidth: 1.5 },
            { label: w.linked, data: d.linked, borderColor: "#1a7f37", backgroundColor: "#1a7f37", pointRadius: 0, borderWidth: 1.5 }
          ]
        },
        options: {
          interaction: { mode: "index", intersect: false },
          scales: { x: { ticks: { maxTicksLimit: 12 } }, y: { beginAtZero: true } }
        }
      });
    }

    var vaccines = document.getElementById("chart-vaccines");
    if (vaccines) {
      var v = data.vaccines;
      sizeFor(vaccines, v.labels.length, 26);
      new Chart(vaccines, {
        type: "bar",
        data: { labels: v.labels, datasets: [{ label: w.records, data: v.records, backgroundColor: "#0b5cad" }] },
        options: { indexAxis: "y", plugins: { legend: { display: false } } }
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
