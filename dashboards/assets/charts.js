/* The dashboard's clientside callbacks (dashboards/callbacks.py).
 *
 * Chart downloads as PNG, drawn in the browser from the chart on the page. Plotly's own PNG export (Plotly.downloadImage, the modebar camera) loads the chart's SVG from
 * a blob: URL, which our Content-Security-Policy (img-src 'self' data:) blocks, so it silently
 * did nothing. Here the SVG comes as a data: URL (Plotly.toImage with format "svg"), is drawn
 * on a canvas and saved from there. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  wellness: {
    downloadPng: function (clicks) {
      const id = window.dash_clientside.callback_context.triggered_id;
      const graph = document.querySelector("#graph-" + id.chart + " .js-plotly-plot");
      if (clicks && graph && window.Plotly) {
        const width = 1000;
        const height = 500;
        window.Plotly.toImage(graph, {format: "svg", width: width, height: height})
          .then(function (svg) {
            return new Promise(function (resolve, reject) {
              const image = new Image();
              image.onload = function () { resolve(image); };
              image.onerror = reject;
              image.src = svg;
            });
          })
          .then(function (image) {
            const canvas = document.createElement("canvas");
            canvas.width = width;
            canvas.height = height;
            const context = canvas.getContext("2d");
            context.fillStyle = "#ffffff";
            context.fillRect(0, 0, width, height);
            context.drawImage(image, 0, 0);
            canvas.toBlob(function (blob) {
              const link = document.createElement("a");
              link.href = URL.createObjectURL(blob);
              link.download = id.chart + ".png";
              document.body.appendChild(link);
              link.click();
              link.remove();
              setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
            }, "image/png");
          })
          .catch(function (error) { console.error("PNG download failed", error); });
      }
      return window.dash_clientside.no_update;
    },
    /* The language switch returns to the dashboard page shown. */
    languageNext: function (pathname) {
      return pathname || "/hr/";
    },
  },
});
