/* Chart downloads as PNG, drawn by plotly.js in the browser from the chart on the page. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  wellness: {
    downloadPng: function (clicks) {
      const id = window.dash_clientside.callback_context.triggered_id;
      const graph = document.querySelector("#graph-" + id.chart + " .js-plotly-plot");
      if (clicks && graph && window.Plotly) {
        window.Plotly.downloadImage(graph, {format: "png", width: 1000, height: 500, filename: id.chart});
      }
      return window.dash_clientside.no_update;
    },
  },
});
