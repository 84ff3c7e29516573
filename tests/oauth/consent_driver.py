"""A person at a browser, for tests: opens Google's (the sandbox's) consent page, picks an account, allows."""
from __future__ import annotations

import html.parser
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin


class _ConsentForm(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action, self.hidden, self.scopes = "", {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "checkbox" and a.get("name") == "scope":
            self.scopes.append(a.get("value", ""))


class _KeepRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def approve(url: str, account: str, untick=(), decision: str = "allow", follow: bool = True) -> str:
    """Submit the consent page as `account`; return where Google redirects (following it if asked)."""
    with urllib.request.urlopen(url, timeout=10) as page:
        form = _ConsentForm()
        form.feed(page.read().decode())
    fields = list(form.hidden.items()) + [("account", account), ("decision", decision)]
    fields += [("scope", s) for s in form.scopes if s not in untick]
    opener = urllib.request.build_opener(_KeepRedirect)
    request = urllib.request.Request(urljoin(url, form.action), urlencode(fields).encode(), method="POST")
    try:
        opener.open(request, timeout=10).close()
        raise AssertionError("the consent page did not redirect")
    except urllib.error.HTTPError as answer:
        location = answer.headers["Location"]
        answer.close()
        assert answer.code == 302, answer.code
    if follow:
        with urllib.request.urlopen(location, timeout=10) as landed:
            assert landed.status == 200
    return location


@dataclass
class Browser:
    """Stands in for `webbrowser.open`: visits the URL in its own thread, like a separate program."""
    account: str
    untick: tuple = ()
    decision: str = "allow"
    opened: list = field(default_factory=list)
    threads: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        thread = threading.Thread(target=self._visit, args=(url,), daemon=True)
        self.threads.append(thread)
        thread.start()
        return True

    def _visit(self, url: str) -> None:
        try:
            approve(url, self.account, self.untick, self.decision)
        except Exception as exc:  # reported by the test through .errors
            self.errors.append(exc)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)
        assert not self.errors, self.errors
