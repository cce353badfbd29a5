"""A self-contained HTML page that renders the OpenAPI document for people.

No JavaScript, no CDN: the page must work on an offline machine. It lists every
operation with its auth, parameters, request body and responses; schemas are shown
as field tables (nested schemas link to their own table).
"""
from html import escape

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2430;line-height:1.45}
header{background:#17416b;color:#fff;padding:1.2rem 2rem}header p{margin:.3rem 0 0;opacity:.9}
main{display:flex}nav{width:17rem;padding:1rem;border-right:1px solid #ddd;font-size:.9rem;
position:sticky;top:0;height:100vh;overflow:auto;box-sizing:border-box}
nav a{display:block;color:#17416b;text-decoration:none;padding:.1rem 0}
section{flex:1;padding:1rem 2rem;max-width:70rem}
.op{border:1px solid #d5dbe3;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:4.2rem;text-align:center;font-weight:700;color:#fff;
border-radius:4px;padding:.1rem .4rem;margin-right:.5rem;font-size:.85rem}
.get{background:#2f7d32}.post{background:#1565c0}.patch{background:#ef6c00}.delete{background:#c62828}
.put{background:#6a1b9a}code{background:#f1f3f6;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.4rem 0 .8rem;font-size:.9rem}
th,td{border:1px solid #e0e4ea;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f7fa}.auth{font-size:.85rem;color:#7a4b00}h3{margin:.8rem 0 .2rem;font-size:1rem}
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_of(schema: dict) -> str:
    if not schema:
        return "any"
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "allOf" in schema:
        return " & ".join(_type_of(part) for part in schema["allOf"])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if "array" in kind and "items" in schema:
        kind = kind.replace("array", f"array of {_type_of(schema['items'])}")
    if schema.get("format"):
        kind += f" ({escape(schema['format'])})"
    if schema.get("enum"):
        kind += " one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"] if v is not None)
    return kind


def _constraints(schema: dict) -> str:
    parts = []
    for key, label in (("minLength", "min length"), ("maxLength", "max length"), ("minimum", "min"),
                       ("maximum", "max"), ("minItems", "min items"), ("maxItems", "max items"),
                       ("pattern", "pattern"), ("default", "default")):
        if key in schema:
            parts.append(f"{label} <code>{escape(str(schema[key]))}</code>")
    return ", ".join(parts)


def _schema_table(name: str, schema: dict) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code>{' *' if field in required else ''}</td>"
        f"<td>{_type_of(prop)}</td><td>{escape(prop.get('description', ''))} {_constraints(prop)}</td></tr>"
        for field, prop in schema.get("properties", {}).items())
    description = escape(schema.get("description", ""))
    return (f'<div class="op" id="schema-{escape(name)}"><h3>{escape(name)}</h3><p>{description}</p>'
            f"<table><tr><th>field (* required)</th><th>type</th><th>notes</th></tr>{rows}</table></div>")


def _parameters(operation: dict) -> str:
    params = operation.get("parameters", [])
    if not params:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code>{' *' if p.get('required') else ''}</td>"
        f"<td>{escape(p['in'])}</td><td>{_type_of(p.get('schema', {}))}</td>"
        f"<td>{escape(p.get('description', '') or p.get('schema', {}).get('description', ''))} "
        f"{_constraints(p.get('schema', {}))}</td></tr>" for p in params)
    return ("<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>type</th><th>notes</th></tr>"
            f"{rows}</table>")


def _content(content: dict) -> str:
    return "; ".join(f"<code>{escape(media)}</code> {_type_of(body.get('schema', {}))}"
                     for media, body in content.items())


def _responses(operation: dict, spec: dict) -> str:
    rows = []
    for status, response in operation.get("responses", {}).items():
        if "$ref" in response:
            response = spec["components"]["responses"][_ref_name(response["$ref"])]
        rows.append(f"<tr><td>{escape(status)}</td><td>{escape(response.get('description', ''))}</td>"
                    f"<td>{_content(response.get('content', {}))}</td></tr>")
    return ("<h3>Responses</h3><table><tr><th>status</th><th>meaning</th><th>body</th></tr>"
            + "".join(rows) + "</table>")


def _auth(operation: dict) -> str:
    security = operation.get("security", [])
    if not security:
        return "public"
    if {} in security:
        return "public; a bearer token is optional (staff get the staff view)"
    return "bearer token required"


def render_docs(spec: dict) -> str:
    info = spec.get("info", {})
    nav, ops = [], []
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            anchor = operation.get("operationId", f"{method}{path}")
            nav.append(f'<a href="#{escape(anchor)}"><b>{method.upper()}</b> {escape(path)}</a>')
            body = operation.get("requestBody")
            body_html = f"<h3>Request body</h3><p>{_content(body['content'])}</p>" if body else ""
            ops.append(
                f'<div class="op" id="{escape(anchor)}"><span class="m {method}">{method.upper()}</span>'
                f"<code>{escape(path)}</code> — {escape(operation.get('summary', ''))}"
                f'<p class="auth">Auth: {escape(_auth(operation))}</p>'
                f"<p>{escape(operation.get('description', ''))}</p>"
                f"{_parameters(operation)}{body_html}{_responses(operation, spec)}</div>")
    schemas = spec.get("components", {}).get("schemas", {})
    schema_html = "".join(_schema_table(name, schema) for name, schema in sorted(schemas.items()))
    schemes = spec.get("components", {}).get("securitySchemes", {})
    auth_html = "".join(f"<p><code>{escape(name)}</code>: {escape(s.get('type', ''))} "
                        f"{escape(s.get('scheme', ''))} ({escape(s.get('bearerFormat', ''))}) — "
                        f"{escape(s.get('description', ''))}. Send <code>Authorization: Bearer "
                        f"&lt;token&gt;</code>.</p>" for name, s in schemes.items())
    title = escape(info.get("title", "API"))
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{_CSS}</style>"
            f"</head><body><header><h1>{title} <small>{escape(info.get('version', ''))}</small></h1>"
            f"<p>{escape(info.get('description', ''))}</p><p>OpenAPI {escape(spec.get('openapi', ''))}: "
            f'<a style="color:#fff" href="openapi.json">openapi.json</a></p></header>'
            f"<main><nav>{''.join(nav)}<hr><a href=\"#schemas\">Schemas</a></nav><section>"
            f"<h2>Authentication</h2>{auth_html}<h2>Endpoints</h2>{''.join(ops)}"
            f"<h2 id=\"schemas\">Schemas</h2>{schema_html}</section></main></body></html>")
