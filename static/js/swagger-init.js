// Starts Swagger UI on the API docs page from a file, not an inline script, so the page passes a strict CSP.
/* global SwaggerUIBundle */
const root = document.getElementById("swagger-ui");
SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null, // the validator badge would call an outside server
  presets: [SwaggerUIBundle.presets.apis],
});
