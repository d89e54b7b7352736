// Renders this server's OpenAPI document with Swagger UI (docs/swagger-ui).
// validatorUrl null: by default Swagger UI asks validator.swagger.io to check
// the document. queryConfigEnabled false: the page never renders a document
// that a ?url= in a link points at.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  queryConfigEnabled: false,
});
