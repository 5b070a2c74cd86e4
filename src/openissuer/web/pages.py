"""Plain, accessible HTML pages for people in a browser (sign-in errors). No stack traces, no secrets."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5;
       color: #1a1a1a; background: #fff; }}
a {{ color: #0b57d0; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{message}</p>
{link}
</main>
</body>
</html>
"""


def render_page(title: str, message: str, *, status: int = 400, return_url: str | None = None) -> HTMLResponse:
    """Return an HTML page; ``return_url`` adds a link back to the wallet."""
    link = ""
    if return_url:
        link = f'<p><a href="{escape(return_url, quote=True)}">Return to your wallet</a></p>'
    body = _TEMPLATE.format(title=escape(title), message=escape(message), link=link)
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # The page's URL may hold the upstream provider's code and state or a hook token: never sent on as a referrer.
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
