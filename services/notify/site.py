"""Where the platform's pages are: the links in mails lead people to the web client's pages
(under ``PUBLIC_BASE_URL``), which read and change things through the API, not to API answers.

Only the one-click address of ``List-Unsubscribe`` is the API's route itself: mail providers
POST to it (RFC 8058). A frontend of its own keeps these paths, or answers them with redirects.
"""
_ITEM_PAGES = {"entry": "/eintrag/{id}", "article": "/wissen/{id}", "survey": "/umfragen/{id}"}


def item_path(item_type: str, item_id: str) -> str:
    """The public page of an entry, an article (or news) or a survey, by id."""
    return _ITEM_PAGES[item_type].format(id=item_id)


def review_path(entry_id: str) -> str:
    """The editors' page of an entry waiting for review."""
    return f"/redaktion/eintraege/{entry_id}"


def confirm_path(token: str) -> str:
    return f"/abo/bestaetigen?token={token}"


def subscriber_paths(token: str) -> dict[str, str]:
    """A subscriber mail's links: preferences, unsubscribe (a page asking once more), and the
    one-click address for ``List-Unsubscribe``."""
    return {"manage": f"/abo/einstellungen?token={token}", "unsubscribe": f"/abo/abmelden?token={token}",
            "one_click": f"/api/v1/subscriptions/unsubscribe?token={token}"}
