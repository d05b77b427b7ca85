// Starts Swagger UI on /api/docs (server/src/api_docs.rs) with our document.
// A file of its own, not an inline script, so that the page's policy allows
// only scripts carrying its nonce.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.document,
    domNode: root,
    deepLinking: true,
    // Nothing leaves this site: no badge from the public validator.
    validatorUrl: null,
    // Requests from "Try it out" carry the session cookie like the pages'.
    withCredentials: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
  });
});
