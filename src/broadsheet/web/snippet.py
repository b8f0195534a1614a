"""`broadsheet snippet`: the sign-up form for the organization's own website, posting to `/subscribe`."""

from __future__ import annotations

from ..settings import Project
from .pages import WebPages, languages
from .signup import HONEYPOT_FIELD, PAGE_LANGUAGE_FIELD, SOURCE_FIELD, form_source

SNIPPET_TEMPLATE = "web/snippet.html.j2"
SNIPPET_SOURCE = "snippet"
"""The source of a `broadsheet snippet` form not given another."""


def snippet(project: Project, locale: str, action: str, source: str = SNIPPET_SOURCE) -> str:
    """An HTML sign-up form in `locale` for the organization's own website, posting to `action` (this app's
    `/subscribe`), its sign-ups recorded as from `source`. It carries no token: the app shows the person its
    own form, filled in, to press once more."""
    pages = WebPages(project)
    template = pages.environment(locale).get_template(SNIPPET_TEMPLATE)
    return template.render(
        **pages.values(locale),
        action=action,
        honeypot=HONEYPOT_FIELD,
        consent=pages.consent(locale),
        page_language=PAGE_LANGUAGE_FIELD,
        source_field=SOURCE_FIELD,
        source=form_source(source),
        languages=languages(project.settings.locales),
        selected=locale,
    )
