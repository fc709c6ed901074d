"""Visit every page a user can reach: the URL patterns that need no argument, then every link, HTMX GET and form
with method GET found on the pages, a few instances per view. Used by the tests that hold for every page (no writes
on a GET, no raw codes or untranslated text)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

# Not pages: the API (its own tests), static files, sign-out (ends the session the crawl uses).
SKIP = re.compile(r"^/(api/|static/|media/|accounts/logout)")
LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)"')


def plain_paths() -> list[str]:
    """Every page URL pattern that takes no argument, as a path."""
    out: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                if "<" not in route and "(" not in route:
                    walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern) and "<" not in route and "(" not in route and "^" not in route:
                out.append("/" + (prefix + route).lstrip("/"))

    walk(get_resolver().url_patterns, "")
    return sorted({p for p in out if not SKIP.search(p)})


@dataclass
class Visit:
    url: str
    view: str
    status: int
    content_type: str
    body: str


# Views whose pages differ in kind by their argument, visited more often: one template per model run; a
# data-subject request's actions follow its kind (an access request links its export, an erasure its confirmation
# step); an import's page its state (one not run links its mapping, a run one its rejected rows).
EVERY = {"analytics:model": 20, "privacy:detail": 3, "dataio:import_detail": 3}


def crawl(client, *, per_view: int = 1, limit: int = 600, skip: Callable[[str], bool] | None = None,
          on_response: Callable[[Visit], None] | None = None) -> Iterator[Visit]:
    """Breadth-first from "/" and the argument-free patterns; at most `per_view` URLs per view name (and as many
    again with a query string; EVERY names views visited more often), `limit` requests in all."""
    queue = ["/", *plain_paths()]
    seen: set[str] = set()
    per: dict[str, int] = defaultdict(int)
    done = 0
    while queue and done < limit:
        url = queue.pop(0)
        if url in seen or SKIP.search(url) or (skip is not None and skip(url)):
            continue
        seen.add(url)
        path = url.split("?", 1)[0]
        try:
            match = resolve(path)
        except Resolver404:
            continue
        key = match.view_name + ("?" if "?" in url else "")
        if per[key] >= EVERY.get(match.view_name, per_view):
            continue
        per[key] += 1
        done += 1
        response = client.get(url)
        ctype = response.get("Content-Type", "")
        streaming = getattr(response, "streaming", False)
        body = "" if streaming or "html" not in ctype else response.content.decode()
        if streaming:
            b"".join(response.streaming_content)  # run the generator: what it writes counts too
        visit = Visit(url, match.view_name, response.status_code, ctype, body)
        if on_response is not None:
            on_response(visit)
        yield visit
        for href in LINK.findall(body):
            href = href.replace("&amp;", "&")
            if href not in seen:
                queue.append(href)


class _Text(HTMLParser):
    """Visible text of a page: text nodes outside script/style/template, plus placeholder, title, aria-label and
    alt attributes (people read those too)."""

    HIDDEN = {"script", "style", "template", "noscript"}
    VOID = {"br", "hr", "img", "input", "meta", "link", "source", "col", "area", "base", "wbr"}
    BREAK = {"br", "p", "div", "tr", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "option", "span", "a",
             "button", "label", "dt", "dd", "small", "strong", "b", "code", "section", "summary", "pre"}

    def __init__(self, *, skip_marked: bool = False):
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.parts: list[str] = []
        # Elements marked data-code-ok show codes on purpose (a settings table's Code column, the column names an
        # import file must use): left out when `skip_marked`.
        self.skip_marked = skip_marked
        self.marked: list[list] = []  # [tag, depth] of the marked elements we are inside

    def handle_starttag(self, tag, attrs):
        if self.marked and tag == self.marked[-1][0]:
            self.marked[-1][1] += 1
        if self.skip_marked and any(name == "data-code-ok" for name, _v in attrs) and tag not in self.VOID:
            self.marked.append([tag, 1])
        if tag in self.HIDDEN:
            self.hidden += 1
        if self.marked:
            return
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label", "alt") and value:
                self.parts.append("\n" + value + "\n")
        if tag in self.BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if self.marked and tag == self.marked[-1][0]:
            self.marked[-1][1] -= 1
            if self.marked[-1][1] == 0:
                self.marked.pop()
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in self.BREAK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden and not self.marked:
            self.parts.append(data)


def visible_lines(html: str, *, skip_marked: bool = False) -> list[str]:
    parser = _Text(skip_marked=skip_marked)
    parser.feed(html)
    text = "".join(parser.parts)
    return [line for line in (re.sub(r"\s+", " ", x).strip() for x in text.splitlines()) if line]
