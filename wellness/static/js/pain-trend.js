/* Draws the pain trend with Plotly from the figure JSON next to the chart. No inline script:
   the figure travels as a JSON data block, and the table beside the chart holds the same
   numbers for screen readers and for browsers without JavaScript. */
(function () {
  "use strict";

  function draw(holder) {
    var source = document.getElementById(holder.getAttribute("data-figure"));
    if (!source || !window.Plotly) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    holder.classList.add("trend-chart-drawn");
    window.Plotly.newPlot(holder, figure.data, figure.layout, {
      displayModeBar: false,
      responsive: true,
    });
  }

  document.querySelectorAll("[data-figure]").forEach(draw);
})();
