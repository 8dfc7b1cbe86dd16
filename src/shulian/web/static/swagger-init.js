/* Starts Swagger UI on /docs (a file rather than the usual inline script: the CSP allows no
   inline script). The schema's address comes from the page. */
(function () {
  "use strict";
  var box = document.getElementById("swagger-ui");
  if (!box || !window.SwaggerUIBundle) return;
  window.ui = window.SwaggerUIBundle({
    url: box.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, /* the default badge loads from validator.swagger.io */
    presets: [window.SwaggerUIBundle.presets.apis]
  });
})();
