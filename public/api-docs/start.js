// Starts Swagger UI on the Control API's docs page, reading Fennec's own OpenAPI document.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Tokens typed into "Authorize" stay in this tab only.
    persistAuthorization: false,
  });
});
