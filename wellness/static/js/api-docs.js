// Boots the vendored Swagger UI on /api/v1/docs. Everything comes from our own server: the
// spec URL is read from the page, the online validator badge is switched off, and "Try it out"
// requests from a signed-in browser carry the CSRF token (bearer tokens need none).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var safe = { GET: true, HEAD: true, OPTIONS: true };
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    withCredentials: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (request) {
      if (csrf && !safe[(request.method || "GET").toUpperCase()]) {
        request.headers["X-CSRFToken"] = csrf.getAttribute("content");
      }
      return request;
    },
  });
})();
