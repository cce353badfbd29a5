"""``/api/v1/docs``: Swagger UI (the registry package ``swagger-ui-dist``, copied into the web
client's build under ``/api-docs/`` by ``make web``; no CDN) on this gateway's OpenAPI
document, with "try it out" against the gateway itself."""

PAGE = """<!doctype html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>KoSI API – Dokumentation</title>
  <link rel="stylesheet" href="/api-docs/swagger-ui.css">
</head>
<body>
  <main id="swagger-ui">
    <noscript>Die Dokumentation braucht JavaScript; das Dokument selbst:
      <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</noscript>
  </main>
  <script src="/api-docs/swagger-ui-bundle.js"></script>
  <script src="/api-docs/swagger-ui-standalone-preset.js"></script>
  <script src="/api-docs/init.js"></script>
</body>
</html>
"""


def render_docs() -> str:
    return PAGE
